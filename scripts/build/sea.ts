import { createRequire } from "node:module";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "./tools.js";

/** The fuse Node looks for to know that a SEA blob was injected (Node's own constant). */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export interface BlobOptions {
  /** The bundled CommonJS main script. */
  main: string;
  /** Where to write the blob. */
  output: string;
  /** The Node binary that makes the blob: it must be the version of every binary the blob goes into. */
  node: string;
  /** Files embedded as SEA assets, read at run time with `sea.getRawAsset(key)`. */
  assets?: Record<string, string>;
  /** Directory for sea-config.json. */
  workDir: string;
}

/**
 * Makes the SEA preparation blob. Code cache and startup snapshot stay off: neither made start-up faster
 * here, the snapshot breaks with ws imported at top level, and the code cache would tie the blob to one
 * CPU architecture (one blob serves all five targets).
 */
export async function makeSeaBlob(options: BlobOptions): Promise<void> {
  const config = {
    main: options.main,
    output: options.output,
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    useSnapshot: false,
    ...(options.assets ? { assets: options.assets } : {}),
  };
  const configPath = join(options.workDir, "sea-config.json");
  await writeFile(configPath, JSON.stringify(config, null, 2) + "\n");
  await runTool(options.node, ["--experimental-sea-config", configPath], { cwd: options.workDir });
}

/**
 * Injects the blob into a copy of a Node binary with postject (run as a child process, so two targets
 * can be injected at once on two cores). Mach-O files get the blob in a `NODE_SEA` segment.
 */
export async function injectBlob(binary: string, blob: string, format: "elf" | "pe" | "macho"): Promise<void> {
  const cli = createRequire(import.meta.url).resolve("postject/dist/cli.js");
  const args = [cli, binary, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE];
  if (format === "macho") args.push("--macho-segment-name", "NODE_SEA");
  const output = await runTool(process.execPath, args);
  // postject reports its own errors on stdout with exit code 1 (caught above); anything else is odd.
  if (!output.includes("Injection done")) throw new Error(`postject did not confirm the injection into ${binary}:\n${output}`);
}
