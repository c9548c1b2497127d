// `install` as it is meant to run: from the native linux-x64 binary (a Node SEA), which copies itself.
// Into a scratch root, then run from there with nothing but its agent.json, against a real control plane.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, startBinary, tempDir, type BinaryProcess } from "../packaging/binaries.js";

describe("install from the native binary", () => {
  let binary: string;
  let cp: TestControlPlane;
  let agent: BinaryProcess | undefined;

  beforeAll(async () => {
    const built = (await ensureBinaries(["linux-x64"]))["linux-x64"]!;
    binary = join(await tempDir(), "tether-agent");
    await copyFile(built, binary);
    await execa("chmod", ["755", binary]);
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s" } });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await agent?.stop();
    await cp?.cleanup();
  });

  it("copies itself, writes a unit systemd-analyze accepts, and the installed copy runs from agent.json alone", async () => {
    const root = await tempDir();
    const installed = await execa(binary, ["install", "--root", root, "--no-start", "--connect-key", cp.connectKey, "--display-name", "native"], { reject: false });
    expect(installed.exitCode, installed.stdout + installed.stderr).toBe(0);
    const copy = join(root, "usr/local/bin/tether-agent");
    expect((await readFile(copy)).equals(await readFile(binary))).toBe(true);

    const unit = await readFile(join(root, "etc/systemd/system/tether-agent.service"), "utf8");
    await mkdir(join(root, "check"));
    await writeFile(join(root, "check/tether-agent.service"), unit.replace("ExecStart=/usr/local/bin/tether-agent ", `ExecStart=${copy} `));
    const verified = await execa("systemd-analyze", ["verify", join(root, "check/tether-agent.service")], { reject: false });
    expect(verified.stdout + verified.stderr).toBe("");

    // Installing again from the installed binary: nothing to copy, settings kept.
    const again = await execa(copy, ["install", "--root", root, "--no-start"], { reject: false });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(root, "etc/tether-agent/agent.json"), "utf8"))).toEqual({ connectKey: cp.connectKey, displayName: "native" });

    const stateDir = join(root, "var/lib/tether-agent");
    agent = startBinary(copy, ["run", "--config", join(root, "etc/tether-agent/agent.json"), "--state-dir", stateDir]);
    const device = await waitFor(async () => (await cp.api("GET", "/api/v1/devices?filter=status:eq:online")).body.results[0], {
      timeoutMs: 30_000,
      message: `the installed binary online; its log:\n${agent.logs()}`,
    });
    expect(device.displayName).toBe("native");
    expect((await agent.stop()).code).toBe(0);

    const removed = await execa(copy, ["uninstall", "--root", root, "--purge"], { reject: false });
    expect(removed.exitCode, removed.stdout + removed.stderr).toBe(0);
    expect((await execa("find", [root, "-type", "f", "-not", "-path", "*/check/*"])).stdout).toBe("");
  });
});
