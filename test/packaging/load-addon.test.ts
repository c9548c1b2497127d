import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { extractAssets, loadNativeAddon, type AssetSource } from "../../agent/src/native/load-addon.js";
import { buildHelloAddon } from "./addon.js";
import { tempDir } from "./binaries.js";

// The native addon loader outside a SEA: assets come from a fake source (as `node:sea` would give
// them), the addon is a real Node-API module compiled here, and process.dlopen really loads it.
// test/e2e/binary-addon.test.ts does the same inside a real single executable.

function assetSource(files: Record<string, Buffer>): AssetSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    getRawAsset(key) {
      reads.push(key);
      const bytes = files[key];
      if (!bytes) throw new Error(`No such asset: ${key}`);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
}

const HELPER = Buffer.from("#!/bin/sh\necho helper\n");

describe("native addon loader", () => {
  let addonBytes: Buffer;

  beforeAll(async () => {
    addonBytes = readFileSync(await buildHelloAddon(await tempDir("tether-addon-")));
  }, 60_000);

  it("writes the addon to <base>/native/<sha256>/, private to this user, and dlopens it", async () => {
    const base = await tempDir();
    const addon = loadNativeAddon<{ hello(): string }>(
      { addon: { asset: "hello.node", fileName: "hello.node" }, fromNodeModules: () => expect.unreachable() },
      { baseDir: base, assets: assetSource({ "hello.node": addonBytes }) },
    );
    expect(addon.hello()).toBe("hello from a native addon");

    const key = createHash("sha256").update(`hello.node\0-\0${createHash("sha256").update(addonBytes).digest("hex")}\n`).digest("hex");
    const dir = join(base, "native", key);
    expect(readFileSync(join(dir, "hello.node")).equals(addonBytes)).toBe(true);
    expect(statSync(join(base, "native")).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "hello.node")).mode & 0o777).toBe(0o600);
  });

  it("keeps companions beside the addon, executable when asked, and reuses the directory next time", async () => {
    const base = await tempDir();
    const files = [
      { asset: "pty.node", fileName: "pty.node" },
      { asset: "spawn-helper", fileName: "spawn-helper", executable: true },
    ];
    const assets = assetSource({ "pty.node": addonBytes, "spawn-helper": HELPER });
    const dir = extractAssets(files, assets, base);
    expect(statSync(join(dir, "spawn-helper")).mode & 0o777).toBe(0o700);
    const inode = statSync(join(dir, "pty.node")).ino;

    expect(extractAssets(files, assets, base)).toBe(dir);
    expect(statSync(join(dir, "pty.node")).ino).toBe(inode); // not written again

    // Another build of the helper is another directory: one build's files never mix with another's.
    const other = extractAssets(files, assetSource({ "pty.node": addonBytes, "spawn-helper": Buffer.from("#!/bin/sh\necho v2\n") }), base);
    expect(other).not.toBe(dir);
  });

  it("writes a damaged file again instead of loading it", async () => {
    const base = await tempDir();
    const files = [{ asset: "hello.node", fileName: "hello.node" }];
    const dir = extractAssets(files, assetSource({ "hello.node": addonBytes }), base);
    writeFileSync(join(dir, "hello.node"), addonBytes.subarray(0, 100)); // as an interrupted copy would leave it
    extractAssets(files, assetSource({ "hello.node": addonBytes }), base);
    expect(readFileSync(join(dir, "hello.node")).equals(addonBytes)).toBe(true);
  });

  it("tightens a private directory of ours that others could write to", async () => {
    const base = await tempDir();
    mkdirSync(join(base, "native"), { mode: 0o777 });
    chmodSync(join(base, "native"), 0o777);
    extractAssets([{ asset: "a", fileName: "a.node" }], assetSource({ a: addonBytes }), base);
    expect(statSync(join(base, "native")).mode & 0o777).toBe(0o700);
  });

  it("refuses a symbolic link, or a directory someone else made, where its private directory goes", async () => {
    const assets = assetSource({ a: addonBytes });
    const linked = await tempDir();
    symlinkSync(await tempDir(), join(linked, "native"));
    expect(() => extractAssets([{ asset: "a", fileName: "a.node" }], assets, linked)).toThrow(/not a directory/);

    if (process.getuid?.() === 0) {
      const foreign = await tempDir();
      mkdirSync(join(foreign, "native"), { mode: 0o700 });
      chownSync(join(foreign, "native"), 65534, 65534);
      expect(() => extractAssets([{ asset: "a", fileName: "a.node" }], assets, foreign)).toThrow(/belongs to uid 65534/);
      expect(lstatSync(join(foreign, "native")).uid).toBe(65534);
    }
  });

  it("says which asset is missing, and refuses file names that could leave the directory", async () => {
    const base = await tempDir();
    expect(() => extractAssets([{ asset: "pty.node", fileName: "pty.node" }], assetSource({}), base)).toThrow(/no asset "pty.node"/);
    expect(() => extractAssets([{ asset: "a", fileName: "../a.node" }], assetSource({ a: addonBytes }), base)).toThrow(/unsafe/);
  });

  it("outside a SEA, without an asset source, loads from node_modules", () => {
    const fromNodeModules = { hello: () => "from node_modules" };
    const addon = loadNativeAddon({ addon: { asset: "hello.node", fileName: "hello.node" }, fromNodeModules: () => fromNodeModules }, { baseDir: "/nonexistent" });
    expect(addon).toBe(fromNodeModules);
  });
});
