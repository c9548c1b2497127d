// The macOS flat packages (npm run build:installers -- --kind pkg), built with --fast from the real darwin
// binaries: the xar archive, its Payload (cpio, root-owned), Bom, PackageInfo and Scripts, read with
// independent tools; and the postinstall script run for real, with a stand-in that records its
// arguments in place of the agent (the darwin binary cannot run here) and, for the running system ($3 = /),
// chrooted into a scratch root. macOS Installer itself is untested here (docs/packaging.md).
import { existsSync, lstatSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DOMParser } from "@xmldom/xmldom";
import { execa } from "execa";
import lsbom from "lsbom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../scripts/build/agent-binary.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, PACKAGE_VERSION } from "./binaries.js";
import { buildInstallers, tempDirs, verifyChecksums } from "./installers.js";
import { scratchRoot, type ScratchRoot } from "./scratch-root.js";

const temp = tempDirs();

const BOOTSTRAP = "Library/Application Support/Tether/bootstrap.json";

/** A stand-in for the agent: records its arguments in /stand-in.log (of the root it runs in) and exits with $STAND_IN_EXIT. */
const STAND_IN = `#!/bin/sh
echo "$*" >> /stand-in.log
exit "\${STAND_IN_EXIT:-0}"
`;

describe("macOS packages", () => {
  afterAll(() => temp.removeAll());
  let binaries: Record<string, string>;
  let out: string;
  const pkg = (arch: string) => join(out, `tether-agent-${PACKAGE_VERSION}-darwin-${arch}.pkg`);
  let unpacked: string;
  let postinstall: string;

  beforeAll(async () => {
    binaries = await ensureBinaries(["darwin-x64", "darwin-arm64"]);
    out = await temp.make("tether-installers-pkg-");
    await buildInstallers(out, ["--kind", "pkg"]);
    unpacked = await temp.make();
    await execa("bsdtar", ["-xf", pkg("arm64"), "-C", unpacked]);
    const scripts = join(unpacked, "scripts");
    await mkdir(scripts);
    await execa("bsdtar", ["-xf", join(unpacked, "Scripts"), "-C", scripts]);
    postinstall = join(scripts, "postinstall");
  }, BUILD_TIMEOUT_MS);

  it("is a xar archive of Bom, PackageInfo, Payload and Scripts", async () => {
    for (const arch of ["x64", "arm64"]) {
      const listed = (await execa("bsdtar", ["-tf", pkg(arch)])).stdout.split("\n").sort();
      expect(listed).toEqual(["Bom", "PackageInfo", "Payload", "Scripts"]);
      expect((await readFile(pkg(arch))).subarray(0, 4).toString("latin1")).toBe("xar!");
    }
  });

  it("carries the darwin binary as /usr/local/bin/tether-agent, mode 0755, owned by root", async () => {
    for (const [arch, target] of [["x64", "darwin-x64"], ["arm64", "darwin-arm64"]] as const) {
      const dir = await temp.make();
      await execa("bsdtar", ["-xf", pkg(arch), "-C", dir, "Payload"]);
      // gzip'd cpio in the odc format, read by GNU cpio.
      const listing = await execa("sh", ["-c", 'gzip -dc Payload | cpio -itv --numeric-uid-gid --quiet'], { cwd: dir });
      const lines = listing.stdout.split("\n");
      expect(lines.map((l) => l.split(/\s+/).pop())).toEqual([".", "usr", "usr/local", "usr/local/bin", "usr/local/bin/tether-agent"]);
      for (const line of lines) expect(line).toMatch(/^\S+ +\d+ 0 +0 /);
      expect(lines.at(-1)).toMatch(/^-rwxr-xr-x /);
      const files = join(dir, "files");
      await mkdir(files);
      await execa("sh", ["-c", 'gzip -dc ../Payload | cpio -idm --quiet', "sh"], { cwd: files });
      expect(await sha256File(join(files, "usr/local/bin/tether-agent"))).toBe(await sha256File(binaries[target]!));
    }
  });

  it("has a Bom listing the payload with root owner, modes, size and checksum", async () => {
    const entries = lsbom(await readFile(join(unpacked, "Bom")));
    if (!entries) throw new Error("Bom is not a BOM file");
    expect(entries.map((e) => e.filename)).toEqual([".", "./usr", "./usr/local", "./usr/local/bin", "./usr/local/bin/tether-agent"]);
    for (const entry of entries) expect([entry.user, entry.group]).toEqual([0, 0]);
    const file = entries.at(-1)!;
    expect(file.mode).toBe(0o100755);
    // GNU cksum's CRC, which the Bom records (`command -p`: node_modules/.bin has a JavaScript cksum, mkbom's).
    const [checksum, size] = (await execa("sh", ["-c", 'command -p cksum "$1"', "sh", binaries["darwin-arm64"]!])).stdout.split(" ");
    expect(file.size).toBe(Number(size));
    expect(file.checksum).toBe(Number(checksum));
  });

  it("has a PackageInfo with the identifier, version, payload size and the postinstall script", async () => {
    const doc = new DOMParser().parseFromString(await readFile(join(unpacked, "PackageInfo"), "utf8"), "text/xml");
    const info = doc.documentElement!;
    expect(info.tagName).toBe("pkg-info");
    expect(info.getAttribute("identifier")).toBe("dev.tether.agent");
    expect(info.getAttribute("version")).toBe(PACKAGE_VERSION);
    expect(info.getAttribute("install-location")).toBe("/");
    expect(info.getAttribute("auth")).toBe("root");
    const payload = info.getElementsByTagName("payload")[0]!;
    expect(payload.getAttribute("numberOfFiles")).toBe("5");
    const size = lstatSync(binaries["darwin-arm64"]!).size;
    expect(Number(payload.getAttribute("installKBytes"))).toBe(Math.ceil(size / 1024));
    expect(info.getElementsByTagName("postinstall")[0]!.getAttribute("file")).toBe("./postinstall");
  });

  it("has a postinstall script, root-owned and executable, that sh accepts", async () => {
    const listing = (await execa("sh", ["-c", 'gzip -dc Scripts | cpio -itv --numeric-uid-gid --quiet'], { cwd: unpacked })).stdout;
    expect(listing).toMatch(/^-rwxr-xr-x +\d+ 0 +0 .* postinstall$/m);
    const syntax = await execa("sh", ["-n", postinstall], { reject: false, all: true });
    expect(syntax.exitCode, syntax.all).toBe(0);
  });

  it("postinstall onto another volume: runs nothing there and succeeds", async () => {
    const volume = await temp.make();
    await mkdir(join(volume, "usr/local/bin"), { recursive: true });
    await writeFile(join(volume, "usr/local/bin/tether-agent"), STAND_IN);
    await chmod(join(volume, "usr/local/bin/tether-agent"), 0o755);
    await mkdir(join(volume, "Library/Application Support/Tether"), { recursive: true });
    await writeFile(join(volume, BOOTSTRAP), JSON.stringify({ connectKey: "tck_x" }));
    const result = await execa("sh", [postinstall, pkg("arm64"), volume, volume], { reject: false, all: true });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toContain("not the running system");
    expect(existsSync(join(volume, "stand-in.log"))).toBe(false);
    expect(existsSync("/stand-in.log")).toBe(false);
  });

  describe("postinstall on the running system ($3 = /), in a scratch root", () => {
    let root: ScratchRoot;
    const run = (env: Record<string, string> = {}) =>
      root.run(["chroot", root.dir, "/bin/sh", "/postinstall", "/tmp/tether-agent.pkg", "/", "/", "/"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env } });
    const log = () => readFile(join(root.dir, "stand-in.log"), "utf8").catch(() => "");

    beforeAll(async () => {
      root = await scratchRoot(await temp.make("tether-scratch-root-"));
      await writeFile(join(root.dir, "postinstall"), await readFile(postinstall));
      // The stand-in goes into the overlay's upper layer: the root's /usr/local/bin, not this machine's.
      await mkdir(join(root.upper, "local/bin"), { recursive: true });
      await writeFile(join(root.upper, "local/bin/tether-agent"), STAND_IN);
      await chmod(join(root.upper, "local/bin/tether-agent"), 0o755);
    });

    it("without a connect key anywhere: says where to put one, runs nothing and succeeds", async () => {
      const result = await run();
      expect(result.exitCode, result.all).toBe(0);
      expect(result.all).toMatch(/no connect key yet: put one in \/Library\/Application Support\/Tether\/bootstrap\.json/);
      expect(await log()).toBe("");
    });

    it("with bootstrap.json: runs a plain `tether-agent install`, which reads it", async () => {
      await mkdir(join(root.dir, "Library/Application Support/Tether"), { recursive: true });
      await writeFile(join(root.dir, BOOTSTRAP), JSON.stringify({ connectKey: "tck_x" }));
      const result = await run();
      expect(result.exitCode, result.all).toBe(0);
      expect(await log()).toBe("install --timeout 30s\n");
    });

    it("fails only when the agent refuses the settings (2); a timeout (1) is a warning", async () => {
      const refused = await run({ STAND_IN_EXIT: "2" });
      expect(refused.exitCode).toBe(2);
      expect(refused.all).toContain("the settings were refused");
      const timedOut = await run({ STAND_IN_EXIT: "1" });
      expect(timedOut.exitCode, timedOut.all).toBe(0);
      expect(timedOut.all).toContain("warning");
    });
  });

  it("lists both packages in SHA256SUMS, which verifies", async () => {
    const sums = await readFile(join(out, "SHA256SUMS"), "utf8");
    for (const arch of ["x64", "arm64"]) expect(sums).toContain(`  tether-agent-${PACKAGE_VERSION}-darwin-${arch}.pkg\n`);
    expect(await verifyChecksums(out)).toMatch(/: OK$/m);
  });
});
