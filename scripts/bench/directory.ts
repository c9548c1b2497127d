/**
 * `npm run bench:directory`: directory benchmarks, in sections. Each section runs in-process against
 * a fresh store on a temp SQLite file (the real migrations, WAL, as the server opens it) and writes its
 * figures to docs/benchmarks.md between its own `<!-- name -->` markers.
 *
 * A new section is a module exporting a DirectorySection, listed in SECTIONS below.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { runCli } from "../../shared/src/cli/run-cli.js";
import { bindingsSection } from "./directory-bindings.js";
import { importSection } from "./directory-import.js";
import { machineDescription, replaceSection } from "./machine.js";

const ROOT = resolve(import.meta.dirname, "../..");

export interface DirectorySection {
  /** Used with --only, and as the docs/benchmarks.md marker `bench:<name>`. */
  name: string;
  /** Runs the benchmark in `dir` (a temp dir of its own) and returns its figures as markdown. */
  run(dir: string): Promise<string> | string;
}

const SECTIONS: readonly DirectorySection[] = [bindingsSection, importSection];

const program = new Command("bench:directory")
  .option("--only <names>", `comma-separated sections (${SECTIONS.map((s) => s.name).join(", ")})`)
  .option("--no-write", "do not update docs/benchmarks.md")
  .action(async (options: { only?: string; write: boolean }) => {
    const wanted = options.only?.split(",") ?? SECTIONS.map((s) => s.name);
    const unknown = wanted.filter((name) => !SECTIONS.some((s) => s.name === name));
    if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(", ")}; sections: ${SECTIONS.map((s) => s.name).join(", ")}`);
    for (const section of SECTIONS.filter((s) => wanted.includes(s.name))) {
      const dir = mkdtempSync(join(tmpdir(), `tether-bench-${section.name}-`));
      let figures: string;
      try {
        figures = await section.run(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const body = [`Measured ${new Date().toISOString().slice(0, 10)} on ${machineDescription()}.`, "", figures].join("\n");
      console.log(`## ${section.name}\n\n${body}\n`);
      if (options.write) {
        const path = join(ROOT, "docs/benchmarks.md");
        const document = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
        writeFileSync(path, replaceSection(document, `bench:${section.name}`, body));
      }
    }
  });

await runCli(program);
