// The .rpm packages (npm run build:installers -- --kind rpm), built with --fast from the real binaries:
// what rpm says about them, and a real install and erase by `rpm --root` into a scratch root. rpm runs
// the scriptlets chrooted into that root, so the root is built on an overlay of this machine's /usr
// (scratch-root.ts): the agent and systemctl run there, and nothing reaches this machine's /usr, /etc or /var.
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../scripts/build/agent-binary.js";
import { encodeConnectKey } from "../../shared/src/connect-key.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, PACKAGE_VERSION } from "./binaries.js";
import { buildInstallers, tempDirs, verifyChecksums } from "./installers.js";
import { scratchRoot } from "./scratch-root.js";

const temp = tempDirs();

const KEY = encodeConnectKey({ url: "https://tether.example.com:8443", caFingerprint: "ab".repeat(32), secret: "A".repeat(43) });
const WANTS = "etc/systemd/system/multi-user.target.wants/tether-agent.service";

describe("rpm packages", () => {
  afterAll(() => temp.removeAll());
  let binaries: Record<string, string>;
  let out: string;
  const rpmFile = (arch: string) => join(out, `tether-agent-${PACKAGE_VERSION}-1.${arch}.rpm`);
  const query = async (file: string, args: readonly string[]) => (await execa("rpm", ["-qp", ...args, file])).stdout;

  beforeAll(async () => {
    binaries = await ensureBinaries(["linux-x64", "linux-arm64"]);
    out = await temp.make("tether-installers-rpm-");
    await buildInstallers(out, ["--kind", "rpm"]);
  }, BUILD_TIMEOUT_MS);

  it("describes itself, lists its files with modes and owners, and has no automatic dependencies", async () => {
    for (const [arch, target] of [["x86_64", "linux-x64"], ["aarch64", "linux-arm64"]] as const) {
      const file = rpmFile(arch);
      const info = await query(file, ["-i"]);
      expect(info).toMatch(/^Name +: tether-agent$/m);
      expect(info).toMatch(new RegExp(`^Version +: ${PACKAGE_VERSION.replace(/\./g, "\\.")}$`, "m"));
      expect(info).toMatch(new RegExp(`^Architecture: ${arch}$`, "m"));
      expect(info).toMatch(/^License +: Apache-2\.0$/m);

      const files = (await query(file, ["-l", "-v"])).split("\n");
      const entry = (path: string) => files.find((line) => line.endsWith(` ${path}`));
      expect(entry("/usr/bin/tether-agent")).toMatch(/^-rwxr-xr-x +1 root +root /);
      expect(entry("/usr/lib/systemd/system/tether-agent.service")).toMatch(/^-rw-r--r-- +1 root +root /);
      expect(entry("/usr/lib/tether-agent/packaged")).toMatch(/^-rw-r--r-- +1 root +root /);
      expect(entry("/usr/lib/tether-agent")).toMatch(/^drwxr-xr-x /);
      expect(files.filter(Boolean)).toHaveLength(4);

      // Requirements come from the binary (sonames and symbol versions), not from rpm's generators.
      const requires = (await query(file, ["-R"])).split("\n");
      expect(requires).toContain("libc.so.6(GLIBC_2.28)(64bit)");
      expect(requires).toContain("libstdc++.so.6(GLIBCXX_3.4.21)(64bit)");
      expect(requires.some((r) => r.startsWith("libgcc_s.so.1("))).toBe(true);

      const extracted = await temp.make();
      const cpio = await execa("sh", ["-c", 'rpm2cpio "$1" | cpio -idm --quiet', "sh", file], { cwd: extracted, reject: false, all: true });
      expect(cpio.exitCode, cpio.all).toBe(0);
      expect(await sha256File(join(extracted, "usr/bin/tether-agent"))).toBe(await sha256File(binaries[target]!));
      expect(await readFile(join(extracted, "usr/lib/tether-agent/packaged"), "utf8")).toBe("rpm\n");
    }
    const scripts = await query(rpmFile("x86_64"), ["--scripts"]);
    expect(scripts).toMatch(/^postinstall scriptlet \(using \/bin\/sh\):$/m);
    expect(scripts).toMatch(/^preuninstall scriptlet \(using \/bin\/sh\):$/m);
    expect(scripts).toMatch(/^postuninstall scriptlet \(using \/bin\/sh\):$/m);
    expect(scripts).toContain("install --packaged");
    expect(scripts).toContain("systemctl disable --now tether-agent.service");
  });

  it("installs into a root with CONNECT_KEY (agent.json 0600, unit enabled) and erases, keeping the settings", async () => {
    const root = await scratchRoot(await temp.make("tether-scratch-root-"));
    const rpm = (args: readonly string[], env: Record<string, string> = {}) =>
      root.run(["rpm", "--root", root.dir, "--dbpath", "/var/lib/rpm", ...args], { env });
    await mkdir(join(root.dir, "var/lib/rpm"), { recursive: true });
    expect((await rpm(["--initdb"])).exitCode).toBe(0);

    // The scratch root has no rpm database of glibc & co.: --nodeps.
    const installed = await rpm(["-i", "--nodeps", rpmFile("x86_64")], { CONNECT_KEY: KEY, DISPLAY_NAME: "rpm box" });
    expect(installed.exitCode, installed.all).toBe(0);
    // systemd does not run in the chroot: the scriptlet configures offline (--root=/).
    expect(installed.all).toContain("Registered tether-agent.service in /");
    const config = join(root.dir, "etc/tether-agent/agent.json");
    expect(lstatSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, "utf8"))).toEqual({ connectKey: KEY, displayName: "rpm box" });
    expect(readlinkSync(join(root.dir, WANTS))).toMatch(/^(\/usr)?\/lib\/systemd\/system\/tether-agent\.service$/);
    // The package's files landed in the overlay's upper layer, not in this machine's /usr.
    expect(existsSync(join(root.upper, "bin/tether-agent"))).toBe(true);
    const listed = await rpm(["-q", "tether-agent"]);
    expect(listed.all).toContain(`tether-agent-${PACKAGE_VERSION}-1.x86_64`);

    await mkdir(join(root.dir, "var/lib/tether-agent"), { recursive: true });
    await writeFile(join(root.dir, "var/lib/tether-agent/identity.json"), "{}");
    const erased = await rpm(["-e", "tether-agent"]);
    expect(erased.exitCode, erased.all).toBe(0);
    expect(lstatSync(join(root.dir, WANTS), { throwIfNoEntry: false })).toBeUndefined();
    expect(existsSync(join(root.upper, "bin/tether-agent"))).toBe(false);
    expect(existsSync(join(root.upper, "lib/tether-agent"))).toBe(false);
    // rpm has no purge: settings and identity stay for a reinstall (docs/packaging.md says what to remove).
    expect(existsSync(config)).toBe(true);
    expect(existsSync(join(root.dir, "var/lib/tether-agent/identity.json"))).toBe(true);
  });

  it("installs cleanly without a key, leaving the unit disabled", async () => {
    const root = await scratchRoot(await temp.make("tether-scratch-root-"));
    await mkdir(join(root.dir, "var/lib/rpm"), { recursive: true });
    const rpm = (args: readonly string[]) => root.run(["rpm", "--root", root.dir, "--dbpath", "/var/lib/rpm", ...args]);
    expect((await rpm(["--initdb"])).exitCode).toBe(0);
    const installed = await rpm(["-i", "--nodeps", rpmFile("x86_64")]);
    expect(installed.exitCode, installed.all).toBe(0);
    expect(installed.all).toMatch(/no connect key yet/i);
    expect(existsSync(join(root.dir, "etc/tether-agent/agent.json"))).toBe(false);
    expect(lstatSync(join(root.dir, WANTS), { throwIfNoEntry: false })).toBeUndefined();
  });

  it("lists both packages in SHA256SUMS, which verifies", async () => {
    const sums = await readFile(join(out, "SHA256SUMS"), "utf8");
    for (const arch of ["x86_64", "aarch64"]) expect(sums).toContain(`  tether-agent-${PACKAGE_VERSION}-1.${arch}.rpm\n`);
    expect(await verifyChecksums(out)).toMatch(/: OK$/m);
  });
});
