// The .deb packages (npm run build:installers -- --kind deb), built with --fast from the real binaries:
// what dpkg-deb shows, and real installs, upgrades and purges by dpkg into scratch roots
// (dpkg --instdir … --force-script-chrootless: the maintainer scripts run here with DPKG_ROOT set, and
// the agent configures the root offline). Nothing is written outside the test's directories.
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import { renderSystemdUnit } from "../../agent/src/os/linux/service-unit.js";
import { sha256File } from "../../scripts/build/agent-binary.js";
import { encodeConnectKey } from "../../shared/src/connect-key.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, PACKAGE_VERSION } from "./binaries.js";
import { buildInstallers, tempDirs, verifyChecksums } from "./installers.js";

const temp = tempDirs();

// Well formed; nothing connects to it (an install into a scratch root only configures).
const KEY = encodeConnectKey({ url: "https://tether.example.com:8443", caFingerprint: "ab".repeat(32), secret: "A".repeat(43) });
const OTHER_KEY = encodeConnectKey({ url: "https://tether.example.com:8443", caFingerprint: "cd".repeat(32), secret: "B".repeat(43) });
const UNIT = "usr/lib/systemd/system/tether-agent.service";
const WANTS = "etc/systemd/system/multi-user.target.wants/tether-agent.service";
/** The next patch version, to upgrade to. */
const NEXT_VERSION = PACKAGE_VERSION.replace(/\d+$/, (patch) => String(Number(patch) + 1));

/** Whether the enablement link is there (its target is inside the root, so existsSync would follow it out). */
function enabled(root: string): boolean {
  return lstatSync(join(root, WANTS), { throwIfNoEntry: false })?.isSymbolicLink() === true;
}

/** An empty system for dpkg: its database in ROOT/var/lib/dpkg. */
async function newRoot(): Promise<string> {
  const root = await temp.make("tether-deb-root-");
  for (const dir of ["info", "updates", "triggers"]) await mkdir(join(root, "var/lib/dpkg", dir), { recursive: true });
  for (const file of ["status", "available"]) await writeFile(join(root, "var/lib/dpkg", file), "");
  return root;
}

/** dpkg on `root`, with only PATH and `env` in the environment (no CONNECT_KEY of the runner's). */
function dpkg(root: string, args: readonly string[], env: Record<string, string> = {}) {
  const options = [`--instdir=${root}`, `--admindir=${join(root, "var/lib/dpkg")}`, `--log=${join(root, "dpkg.log")}`, "--force-script-chrootless", "--force-not-root", "--force-depends"];
  return execa("dpkg", [...options, ...args], { env: { PATH: process.env.PATH!, ...env }, extendEnv: false, reject: false, all: true, stdin: "ignore" });
}

describe("deb packages", () => {
  afterAll(() => temp.removeAll());
  let binaries: Record<string, string>;
  let out: string;
  const deb = (version: string, arch: string) => join(out, `tether-agent_${version}_${arch}.deb`);

  beforeAll(async () => {
    binaries = await ensureBinaries(["linux-x64", "linux-arm64"]);
    out = await temp.make("tether-installers-deb-");
    await buildInstallers(out, ["--kind", "deb"]);
    // The same package as a later version, to upgrade to.
    await buildInstallers(out, ["--kind", "deb", "--target", "linux-x64", "--package-version", NEXT_VERSION]);
  }, BUILD_TIMEOUT_MS);

  it("has the control fields, the maintainer scripts and root-owned files with their modes", async () => {
    const file = deb(PACKAGE_VERSION, "amd64");
    const fields = Object.fromEntries(
      (await execa("dpkg-deb", ["-f", file])).stdout
        .split("\n")
        .filter((line) => /^\S+: /.test(line))
        .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
    );
    expect(fields).toMatchObject({
      Package: "tether-agent",
      Version: PACKAGE_VERSION,
      Architecture: "amd64",
      Section: "admin",
      Priority: "optional",
      // From the binary's own needs (llvm-objdump -p): Node 22's official build needs glibc 2.28.
      Depends: "libc6 (>= 2.28), libgcc-s1 | libgcc1, libstdc++6 (>= 5.2)",
    });
    expect(fields.Maintainer).toMatch(/^.+ <.+@.+>$/);
    expect(Number(fields["Installed-Size"])).toBeGreaterThan(100_000);

    const info = (await execa("dpkg-deb", ["-I", file])).stdout;
    for (const script of ["postinst", "prerm", "postrm"]) expect(info).toMatch(new RegExp(`\\d+ bytes, +\\d+ lines +\\* +${script} +#!/bin/sh`));

    const contents = (await execa("dpkg-deb", ["-c", file])).stdout;
    const entry = (path: string) => contents.split("\n").find((line) => line.endsWith(` ./${path}`));
    expect(entry("usr/bin/tether-agent")).toMatch(/^-rwxr-xr-x root\/root /);
    expect(entry(UNIT)).toMatch(/^-rw-r--r-- root\/root /);
    expect(entry("usr/lib/tether-agent/packaged")).toMatch(/^-rw-r--r-- root\/root /);
    expect(entry("usr/share/doc/tether-agent/copyright")).toMatch(/^-rw-r--r-- root\/root /);
    expect(contents.split("\n").filter((line) => line.startsWith("-"))).toHaveLength(4);

    const extracted = await temp.make();
    await execa("dpkg-deb", ["-x", file, extracted]);
    expect(await sha256File(join(extracted, "usr/bin/tether-agent"))).toBe(await sha256File(binaries["linux-x64"]!));
    expect(await readFile(join(extracted, UNIT), "utf8")).toBe(renderSystemdUnit(new LinuxPlatform().installLayout({ packaged: true })));
    expect(await readFile(join(extracted, "usr/lib/tether-agent/packaged"), "utf8")).toBe("deb\n");

    const control = await temp.make();
    await execa("dpkg-deb", ["-e", file, control]);
    for (const script of ["postinst", "prerm", "postrm"]) {
      const syntax = await execa("sh", ["-n", join(control, script)], { reject: false, all: true });
      expect(syntax.exitCode, `${script}: ${syntax.all}`).toBe(0);
    }
  });

  it("arm64: says so and carries the arm64 binary", async () => {
    const file = deb(PACKAGE_VERSION, "arm64");
    expect((await execa("dpkg-deb", ["-f", file, "Architecture"])).stdout.trim()).toBe("arm64");
    const extracted = await temp.make();
    await execa("dpkg-deb", ["-x", file, extracted]);
    expect(await sha256File(join(extracted, "usr/bin/tether-agent"))).toBe(await sha256File(binaries["linux-arm64"]!));
  });

  it("installs with the key in /etc/default/tether-agent, upgrades keeping agent.json, and purges settings and state", async () => {
    const root = await newRoot();
    await mkdir(join(root, "etc/default"), { recursive: true });
    await writeFile(join(root, "etc/default/tether-agent"), `# written by provisioning\nCONNECT_KEY=${KEY}\nGROUPS="laptops,berlin office"\n`);

    const installed = await dpkg(root, ["-i", deb(PACKAGE_VERSION, "amd64")], { DISPLAY_NAME: "front desk" });
    expect(installed.exitCode, installed.all).toBe(0);
    expect(installed.all).toContain(`Registered tether-agent.service in ${root}`);
    const config = join(root, "etc/tether-agent/agent.json");
    expect(lstatSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, "utf8"))).toEqual({ connectKey: KEY, displayName: "front desk", groups: ["laptops", "berlin office"] });

    // Enabled offline for that system's next boot: the link systemctl --root makes.
    expect(readlinkSync(join(root, WANTS))).toBe("/usr/lib/systemd/system/tether-agent.service");
    // The installed unit, pointed at the installed binary, passes systemd-analyze without a word.
    const check = join(await temp.make(), "tether-agent.service");
    await writeFile(check, (await readFile(join(root, UNIT), "utf8")).replace("ExecStart=/usr/bin/tether-agent ", `ExecStart=${join(root, "usr/bin/tether-agent")} `));
    const verified = await execa("systemd-analyze", ["verify", check], { reject: false, all: true });
    expect(verified.all).toBe("");

    // Upgrade: nothing provided this time; agent.json is what the new version runs with.
    await writeFile(join(root, "etc/default/tether-agent"), "");
    const before = await readFile(config, "utf8");
    const upgraded = await dpkg(root, ["-i", deb(NEXT_VERSION, "amd64")]);
    expect(upgraded.exitCode, upgraded.all).toBe(0);
    expect(upgraded.all).toContain(`Unpacking tether-agent (${NEXT_VERSION}) over (${PACKAGE_VERSION})`);
    expect((await execa("dpkg-query", [`--admindir=${join(root, "var/lib/dpkg")}`, "-W", "-f", "${Version}", "tether-agent"])).stdout).toBe(NEXT_VERSION);
    expect(await readFile(config, "utf8")).toBe(before);
    expect(enabled(root)).toBe(true);

    // Purge: the package's files, the enablement link, settings and state go; the admin's defaults stay.
    await mkdir(join(root, "var/lib/tether-agent"), { recursive: true });
    await writeFile(join(root, "var/lib/tether-agent/identity.json"), "{}");
    const purged = await dpkg(root, ["--purge", "tether-agent"]);
    expect(purged.exitCode, purged.all).toBe(0);
    const left = (await execa("find", [root, "-not", "-type", "d", "-not", "-path", `${root}/var/lib/dpkg/*`])).stdout.split("\n").sort();
    expect(left).toEqual([join(root, "dpkg.log"), join(root, "etc/default/tether-agent")]);
    expect(existsSync(join(root, "etc/tether-agent"))).toBe(false);
    expect(existsSync(join(root, "var/lib/tether-agent"))).toBe(false);
  });

  it("takes the key from CONNECT_KEY in the environment, over /etc/default", async () => {
    const root = await newRoot();
    await mkdir(join(root, "etc/default"), { recursive: true });
    await writeFile(join(root, "etc/default/tether-agent"), `CONNECT_KEY=${KEY}\n`);
    const installed = await dpkg(root, ["-i", deb(PACKAGE_VERSION, "amd64")], { CONNECT_KEY: OTHER_KEY, SERVER_URL: "https://tether.internal:8443" });
    expect(installed.exitCode, installed.all).toBe(0);
    expect(JSON.parse(await readFile(join(root, "etc/tether-agent/agent.json"), "utf8"))).toEqual({ connectKey: OTHER_KEY, serverUrl: "https://tether.internal:8443" });
    expect(enabled(root)).toBe(true);
  });

  it("installs cleanly without a key, leaving the unit disabled", async () => {
    const root = await newRoot();
    const installed = await dpkg(root, ["-i", deb(PACKAGE_VERSION, "amd64")]);
    expect(installed.exitCode, installed.all).toBe(0);
    expect(installed.all).toMatch(/no connect key yet/i);
    expect(existsSync(join(root, "usr/bin/tether-agent"))).toBe(true);
    expect(existsSync(join(root, "etc/tether-agent/agent.json"))).toBe(false);
    expect(enabled(root)).toBe(false);
    expect((await execa("dpkg-query", [`--admindir=${join(root, "var/lib/dpkg")}`, "-W", "-f", "${Status}", "tether-agent"])).stdout).toBe("install ok installed");
  });

  it("refuses a key full of shell syntax (the postinst fails) without running any of it", async () => {
    const root = await newRoot();
    // A `reboot` (and anything else) that the key might smuggle in would leave a mark.
    const stubs = await temp.make();
    const mark = join(stubs, "ran");
    await writeFile(join(stubs, "reboot"), `#!/bin/sh\necho "$0 $*" >> '${mark}'\n`);
    await chmod(join(stubs, "reboot"), 0o755);
    const installed = await execa(
      "dpkg",
      [`--instdir=${root}`, `--admindir=${join(root, "var/lib/dpkg")}`, `--log=${join(root, "dpkg.log")}`, "--force-script-chrootless", "--force-not-root", "--force-depends", "-i", deb(PACKAGE_VERSION, "amd64")],
      { env: { PATH: `${stubs}:${process.env.PATH!}`, CONNECT_KEY: 'tck_x";reboot;"$(reboot)`reboot`' }, extendEnv: false, reject: false, all: true, stdin: "ignore" },
    );
    expect(installed.exitCode, installed.all).not.toBe(0);
    expect(installed.all).toContain("the connect key is not valid");
    expect(installed.all).toContain("the settings were refused");
    expect(installed.all).not.toContain("reboot;");
    expect(existsSync(mark)).toBe(false);
    expect(existsSync(join(root, "etc/tether-agent/agent.json"))).toBe(false);
    expect((await execa("dpkg-query", [`--admindir=${join(root, "var/lib/dpkg")}`, "-W", "-f", "${Status}", "tether-agent"])).stdout).toBe("install ok half-configured");
  });

  it("lists every package in SHA256SUMS, which verifies", async () => {
    const sums = await readFile(join(out, "SHA256SUMS"), "utf8");
    for (const name of [`tether-agent_${NEXT_VERSION}_amd64.deb`, `tether-agent_${PACKAGE_VERSION}_amd64.deb`, `tether-agent_${PACKAGE_VERSION}_arm64.deb`]) expect(sums).toContain(`  ${name}\n`);
    expect(await verifyChecksums(out)).toMatch(/: OK$/m);
  });
});
