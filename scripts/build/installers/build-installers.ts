/**
 * `npm run build:installers`: the .deb and .rpm (x64, arm64), the MSI (x64) and the macOS .pkg (x64,
 * arm64) of the agent, from the binaries in dist/agent, into dist/installers with a SHA256SUMS file.
 * See docs/packaging.md#installers.
 */
import { mapWithConcurrency } from "../concurrency.js";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { CliError, runCli } from "../../../shared/src/cli/run-cli.js";
import { TARGETS, type TargetName } from "../targets.js";
import { findTool } from "../tools.js";
import { agentBinary } from "./agent-inputs.js";
import { updateChecksums } from "./checksums.js";
import { buildDeb } from "./deb.js";
import { buildMacosPkg } from "./macos-pkg.js";
import { checkVersion, KINDS, packageVersion, type InstallerKind } from "./metadata.js";
import { buildMsi } from "./msi.js";
import { buildRpm } from "./rpm.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/** Each installer and the agent binary it wraps. */
const JOBS: ReadonlyArray<{ kind: InstallerKind; target: TargetName }> = [
  { kind: "deb", target: "linux-x64" },
  { kind: "deb", target: "linux-arm64" },
  { kind: "rpm", target: "linux-x64" },
  { kind: "rpm", target: "linux-arm64" },
  { kind: "msi", target: "win-x64" },
  { kind: "pkg", target: "darwin-x64" },
  { kind: "pkg", target: "darwin-arm64" },
];

/** The tools each kind runs, and the Debian package that has them. */
const TOOLS: Record<InstallerKind, ReadonlyArray<[string, string]>> = {
  deb: [["dpkg-deb", "dpkg"], ["llvm-objdump", "llvm"]],
  rpm: [["rpmbuild", "rpm"], ["llvm-objdump", "llvm"]],
  msi: [["wixl", "wixl"]],
  pkg: [["bsdtar", "libarchive-tools"], ["cpio", "cpio"]],
};

const repeatable = (choices: readonly string[]) => (value: string, previous: string[] = []) => {
  if (!choices.includes(value)) throw new InvalidArgumentError(`choose from ${choices.join(", ")}`);
  return [...previous, value];
};

interface Options {
  kind?: InstallerKind[];
  target?: TargetName[];
  fast?: boolean;
  packageVersion?: string;
  out: string;
  agentDir: string;
}

const program = new Command("build:installers")
  .description("Build the agent's installers (deb, rpm, msi, pkg) from the binaries in dist/agent into dist/installers")
  .addOption(new Option("--kind <kind>", `build only this kind (repeatable): ${KINDS.join(", ")}`).argParser(repeatable(KINDS)))
  .addOption(new Option("--target <name>", "build only the installers of this agent target (repeatable)").argParser(repeatable(TARGETS.map((t) => t.name))))
  .option("--fast", "fast, weaker compression (gzip -1): for tests")
  .option("--package-version <version>", "package as this version instead of package.json's (tests: an upgrade)")
  .option("--out <dir>", "output directory", resolve(ROOT, "dist/installers"))
  .option("--agent-dir <dir>", "where the agent binaries are (npm run build:agent)", resolve(ROOT, "dist/agent"))
  .action(async (options: Options) => {
    const started = performance.now();
    const jobs = JOBS.filter((j) => (!options.kind || options.kind.includes(j.kind)) && (!options.target || options.target.includes(j.target)));
    if (jobs.length === 0) throw new CliError("those --kind and --target choices select no installer", 2);
    // Every tool first, so that a missing one stops the build before anything is made.
    for (const kind of new Set(jobs.map((j) => j.kind))) {
      for (const [tool, debianPackage] of TOOLS[kind]) {
        try {
          await findTool([tool], debianPackage);
        } catch (error) {
          throw new CliError(`${kind}: ${(error as Error).message}`);
        }
      }
    }
    const version = checkVersion(options.packageVersion ?? (await packageVersion(ROOT)));
    const outDir = resolve(options.out);
    const agentDir = resolve(options.agentDir);
    const fast = options.fast === true;
    await mkdir(outDir, { recursive: true });
    const workDir = await mkdtemp(join(tmpdir(), "tether-installers-"));
    const build = async ({ kind, target }: (typeof jobs)[number]): Promise<string> => {
      const jobStarted = performance.now();
      const binary = await agentBinary(agentDir, target);
      const arch = target.endsWith("arm64") ? "arm64" : "x64";
      let file: string;
      if (kind === "deb") file = await buildDeb({ binary, arch, version, outDir, workDir, fast });
      else if (kind === "rpm") file = await buildRpm({ binary, arch, version, outDir, workDir, fast });
      else if (kind === "pkg") file = await buildMacosPkg({ binary, arch, version, outDir, workDir, fast });
      else {
        const winsw = join(ROOT, "node_modules/node-windows/bin/winsw/winsw.exe");
        file = await buildMsi({ binary, winsw, serviceXml: join(ROOT, "installers/windows/winsw/tether-agent-service.xml"), version, outDir, workDir });
      }
      const mib = (await stat(file)).size / 2 ** 20;
      console.log(`${kind} ${target}: ${file} (${mib.toFixed(1)} MiB, ${((performance.now() - jobStarted) / 1000).toFixed(1)} s)`);
      return file;
    };
    let built: string[];
    try {
      // xz is single-threaded here: two packages at a time on two cores.
      built = await mapWithConcurrency(jobs, Math.min(2, availableParallelism()), build);
    } catch (error) {
      // A tool's own words need all their lines; runCli prints one.
      console.error((error as Error).message);
      throw new CliError("the build failed (see above)");
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    const sums = await updateChecksums(outDir, built, (line) => console.log(line));
    console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s${fast ? " (--fast)" : ""}; checksums in ${sums}`);
  });

await runCli(program);
