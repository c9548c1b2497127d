import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { bundleAgent } from "../../scripts/build/bundle.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { tempDir } from "./binaries.js";

// The bundle step's rules: the version is baked in, import.meta means the bundle itself, and anything
// that would break only at run time in a single executable fails the build instead.
describe("agent bundle", () => {
  it("bundles the agent into CommonJS that runs and knows its version", async () => {
    const dir = await tempDir("tether-bundle-");
    const outfile = join(dir, "agent.cjs");
    await bundleAgent({ entry: join(REPO_ROOT, "agent/src/cli.ts"), outfile, version: "9.8.7-test" });
    const { stdout } = await execa(process.execPath, [outfile, "--version"], { cwd: dir });
    expect(stdout.trim()).toBe("9.8.7-test");
  });

  it("gives import.meta.url the bundle's own file URL", async () => {
    const dir = await tempDir("tether-bundle-");
    await writeFile(join(dir, "main.ts"), "console.log(import.meta.url);\n");
    await bundleAgent({ entry: join(dir, "main.ts"), outfile: join(dir, "out.cjs"), version: "1" });
    const { stdout } = await execa(process.execPath, [join(dir, "out.cjs")]);
    expect(stdout.trim()).toBe(pathToFileURL(join(dir, "out.cjs")).href);
  });

  it("fails on top-level await and on import.meta uses CommonJS cannot honour", async () => {
    const dir = await tempDir("tether-bundle-");
    await writeFile(join(dir, "tla.ts"), "await Promise.resolve();\nexport {};\n");
    await expect(bundleAgent({ entry: join(dir, "tla.ts"), outfile: join(dir, "tla.cjs"), version: "1" })).rejects.toThrow(/Top-level await/);
    await writeFile(join(dir, "meta.ts"), "console.log((import.meta as unknown as { env: unknown }).env);\n");
    await expect(bundleAgent({ entry: join(dir, "meta.ts"), outfile: join(dir, "meta.cjs"), version: "1" })).rejects.toThrow(/import\.meta/);
  });
});
