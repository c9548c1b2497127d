import { build, formatMessages } from "esbuild";

export interface BundleOptions {
  /** The entry file (TypeScript, ESM). */
  entry: string;
  /** The CommonJS file to write. */
  outfile: string;
  /** Baked in as `__TETHER_AGENT_VERSION__` (agent/src/version.ts). */
  version: string;
}

/**
 * Bundles the agent into one CommonJS file for a Node single executable application.
 *
 * - CommonJS, because a SEA's main script is run as CommonJS (so no top-level await anywhere).
 * - ws: its optional native helpers are switched off and left out; a SEA's `require` loads built-in
 *   modules only, so ws would otherwise warn at start.
 * - `import.meta.url` becomes the file URL of the bundle itself (in a SEA: of the executable),
 *   `import.meta.dirname`/`filename` their CommonJS twins, and `import.meta.resolve` becomes
 *   `require.resolve` (a path instead of a URL; the agent uses it only when running from source). Any
 *   other `import.meta` use, and every other esbuild warning, fails the build rather than shipping a
 *   binary that breaks at run time.
 */
export async function bundleAgent(options: BundleOptions): Promise<void> {
  const result = await build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    logLevel: "silent",
    legalComments: "eof",
    banner: { js: 'var __tether_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    define: {
      __TETHER_AGENT_VERSION__: JSON.stringify(options.version),
      "import.meta.url": "__tether_import_meta_url",
      "import.meta.dirname": "__dirname",
      "import.meta.filename": "__filename",
      "import.meta.resolve": "require.resolve",
      "process.env.WS_NO_BUFFER_UTIL": '"1"',
      "process.env.WS_NO_UTF_8_VALIDATE": '"1"',
    },
    external: ["bufferutil", "utf-8-validate"],
  });
  if (result.warnings.length > 0) {
    const text = await formatMessages(result.warnings, { kind: "warning" });
    throw new Error(`esbuild warned while bundling ${options.entry}:\n${text.join("\n")}`);
  }
}
