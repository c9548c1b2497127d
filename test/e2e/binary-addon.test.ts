import { statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleAgent } from "../../scripts/build/bundle.js";
import { nodeBinary } from "../../scripts/build/node-binary.js";
import { injectBlob, makeSeaBlob } from "../../scripts/build/sea.js";
import { targetByName } from "../../scripts/build/targets.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { buildHelloAddon } from "../packaging/addon.js";
import { tempDir } from "../packaging/binaries.js";

// The native addon loader inside a real single executable: a small SEA (the build's own steps, the
// pinned Node 22) carries a real Node-API addon as the asset "hello.node"; at run time the loader writes
// it to <base>/native/<sha256>/ and process.dlopen loads it. This is how node-pty will ship.
describe("native addon in a single executable", () => {
  let exe: string;

  beforeAll(async () => {
    const work = await tempDir("tether-addon-sea-");
    const addon = await buildHelloAddon(work);
    await bundleAgent({ entry: join(REPO_ROOT, "test/packaging/fixtures/addon-sea-main.ts"), outfile: join(work, "main.cjs"), version: "0.0.0-test" });
    const node = await nodeBinary(targetByName("linux-x64"), join(REPO_ROOT, "node_modules/.cache/tether-build"));
    await makeSeaBlob({ main: join(work, "main.cjs"), output: join(work, "main.blob"), node, workDir: work, assets: { "hello.node": addon } });
    exe = join(work, "addon-sea");
    await execa("llvm-strip", ["-o", exe, node]);
    await injectBlob(exe, join(work, "main.blob"), "elf");
  }, 300_000);

  it("loads the addon from its assets through a private, hash-named directory", async () => {
    const base = await tempDir();
    const { stdout } = await execa(exe, [base]);
    expect(JSON.parse(stdout)).toEqual({ isSea: true, hello: "hello from a native addon", argv: 3 });
    const [key, ...others] = await readdir(join(base, "native"));
    expect(others).toEqual([]);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(base, "native", key!)).mode & 0o777).toBe(0o700);

    // The second start finds the file in place and loads it again.
    const again = await execa(exe, [base]);
    expect(JSON.parse(again.stdout).hello).toBe("hello from a native addon");
  });
});
