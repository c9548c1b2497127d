import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";
import { BUILD_TIMEOUT_MS, ensureBinaries, PACKAGE_VERSION, startBinary, tempDir, type BinaryProcess } from "../packaging/binaries.js";

// The linux-arm64 binary under qemu-user-static (Debian's qemu-user-static, with the arm64 C and C++
// runtimes from libc6-arm64-cross and libstdc++6-arm64-cross as its sysroot). Emulation makes it slow
// (≈ 3 s to print its version), so the waits here are long.
const QEMU = "qemu-aarch64-static";
const SYSROOT = "/usr/aarch64-linux-gnu";

describe("native agent binary: linux-arm64 under qemu", () => {
  let binary: string;
  let cp: TestControlPlane;
  const agents: BinaryProcess[] = [];

  beforeAll(async () => {
    binary = (await ensureBinaries(["linux-arm64"]))["linux-arm64"]!;
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s" } });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cp?.cleanup();
  });

  it("is an aarch64 executable and prints the embedded version", async () => {
    const header = await readFile(binary).then((b) => b.subarray(0, 20));
    expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(header.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    const { stdout } = await execa(QEMU, ["-L", SYSROOT, binary, "--version"]);
    expect(stdout.trim()).toBe(PACKAGE_VERSION);
  }, 60_000);

  it("enrolls and comes online", async () => {
    const state = await tempDir();
    const agent = startBinary(QEMU, ["-L", SYSROOT, binary, "run", "--state-dir", state, "--connect-key", cp.connectKey], { env: { TETHER_LOG_LEVEL: "debug" } });
    agents.push(agent);
    const device = await waitFor(async () => {
      if (!existsSync(join(state, "identity.json"))) return false;
      const { deviceId } = JSON.parse(await readFile(join(state, "identity.json"), "utf8")) as { deviceId: string };
      const found = (await cp.api("GET", `/api/v1/devices/${deviceId}`)).body;
      return found.status === "online" ? found : false;
    }, { timeoutMs: 60_000, intervalMs: 250, message: `the arm64 binary's device online; its log:\n${agent.logs()}` });
    expect(device.agentVersion).toBe(PACKAGE_VERSION);
    expect(device.arch).toBe("arm64");
    await agent.stop();
  }, 120_000);
});
