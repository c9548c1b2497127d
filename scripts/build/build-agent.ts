/**
 * `npm run build:agent`: the native agent binaries (Node single executable applications) for all five
 * targets, or the ones named with --target, into dist/agent/ with a SHA256SUMS file. See docs/packaging.md.
 */
import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { CliError, runCli } from "../../shared/src/cli/run-cli.js";
import { buildAgentBinaries } from "./agent-binary.js";
import { TARGETS } from "./targets.js";
import { signingConfigFromEnv } from "./windows-sign.js";

const ROOT = resolve(import.meta.dirname, "../..");

const program = new Command("build:agent")
  .description("Build the native tether-agent binaries into dist/agent")
  .addOption(
    new Option("--target <name>", "build only this target (repeatable)")
      .choices(TARGETS.map((t) => t.name))
      .argParser((value: string, previous: string[] = []) => {
        if (!TARGETS.some((t) => t.name === value)) throw new InvalidArgumentError(`choose from ${TARGETS.map((t) => t.name).join(", ")}`);
        return [...previous, value];
      }),
  )
  .option("--if-stale", "skip targets whose binary is already what this build would make (same Node, bundled agent, build scripts)")
  .option("--out <dir>", "output directory", resolve(ROOT, "dist/agent"))
  .option("--cache <dir>", "where downloaded Node.js binaries are kept", resolve(ROOT, "node_modules/.cache/tether-build"))
  .action(async (options: { target?: string[]; ifStale?: boolean; out: string; cache: string }) => {
    const started = performance.now();
    const targets = options.target ? TARGETS.filter((t) => options.target!.includes(t.name)) : TARGETS;
    const signing = signingConfigFromEnv();
    if (signing) console.log(`signing the Windows binary with ${signing.pfx}`);
    try {
      await buildAgentBinaries({
        root: ROOT,
        outDir: resolve(options.out),
        targets,
        ifStale: options.ifStale === true,
        cacheDir: resolve(options.cache),
        ...(signing ? { signing } : {}),
        log: (line) => console.log(line),
      });
    } catch (error) {
      // runCli prints one line; a tool's or esbuild's own words need all of theirs.
      console.error((error as Error).message);
      throw new CliError("the build failed (see above)");
    }
    console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s; checksums in ${resolve(options.out, "SHA256SUMS")}`);
  });

await runCli(program);
