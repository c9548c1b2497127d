import { describe, expect, it } from "vitest";
import { sameMachine } from "../../control-plane/src/services/machine-identity.js";
import type { MachineFingerprint } from "../../shared/src/protocol/inventory.js";
import { AgentMessageSchema, parseMessage, ServerMessageSchema, type Hello } from "../../shared/src/protocol/messages.js";
import { PROTOCOL_VERSION } from "../../shared/src/protocol/version.js";

const HELLO: Hello = {
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  agentVersion: "0.1.0",
  deviceId: "dev_01jf3k2m4n5p6q7r8s9t",
  capabilities: ["inventory", "cert-renewal"],
  os: { platform: "linux", arch: "x64", hostname: "web-1" },
  machine: { machineId: "4c4c4544-0042-3510-8052-b4c04f4d3232", serial: "CZ1234ABC", macs: ["00:16:3e:12:34:56"] },
};

const parseAgent = (raw: string) => parseMessage(AgentMessageSchema, raw);

function errorOf(raw: string) {
  const result = parseAgent(raw);
  if (result.ok) throw new Error(`accepted ${raw}`);
  return result.error;
}

describe("parseMessage", () => {
  it("accepts a valid hello and returns it as parsed", () => {
    expect(parseAgent(JSON.stringify(HELLO))).toEqual({ ok: true, message: HELLO });
  });

  it("drops unknown fields, so a newer agent's extra fields do not break an older server", () => {
    const result = parseAgent(JSON.stringify({ ...HELLO, futureField: 1 }));
    expect(result.ok && "futureField" in result.message).toBe(false);
    expect(result.ok).toBe(true);
  });

  it("answers an unknown type with unknown_type, replying to that type", () => {
    expect(errorOf(JSON.stringify({ type: "shell.open", cmd: "rm" }))).toMatchObject({ type: "error", code: "unknown_type", inReplyTo: "shell.open" });
    // A server message sent to the server is unknown there too.
    expect(errorOf(JSON.stringify({ type: "welcome" })).code).toBe("unknown_type");
  });

  it.each([
    ["deviceId", { ...HELLO, deviceId: "laptop-7" }],
    ["protocolVersion", { ...HELLO, protocolVersion: "1" }],
    ["os.hostname", { ...HELLO, os: { ...HELLO.os, hostname: "h".repeat(256) } }],
    ["machine.macs", { ...HELLO, machine: { macs: "00:16:3e:12:34:56" } }],
    ["capabilities.0", { ...HELLO, capabilities: [7] }],
  ])("answers an invalid %s with invalid_message naming that path", (path, message) => {
    const error = errorOf(JSON.stringify(message));
    expect(error).toMatchObject({ type: "error", code: "invalid_message", inReplyTo: "hello" });
    expect(error.message).toContain(`at ${path}:`);
  });

  it("answers a frame that is not JSON with bad_json", () => {
    for (const raw of ["", "{", "hello", '{"type":"hello",}']) expect(errorOf(raw).code).toBe("bad_json");
  });

  it("never throws, whatever the frame holds", () => {
    const frames = [
      "null",
      "42",
      '"hello"',
      "[]",
      '[{"type":"hello"}]',
      "{}",
      '{"type":null}',
      '{"type":7}',
      '{"type":{"toString":1,"valueOf":1}}',
      '{"type":["hello"]}',
      '{"__proto__":{"type":"hello"}}',
      JSON.stringify({ type: "x".repeat(100_000) }),
      JSON.stringify({ ...HELLO, machine: null }),
    ];
    for (const raw of frames) {
      const result = parseAgent(raw);
      expect(result.ok, raw.slice(0, 80)).toBe(false);
      if (!result.ok) {
        expect(["unknown_type", "invalid_message"]).toContain(result.error.code);
        expect(result.error.message.length).toBeLessThanOrEqual(2048);
        expect(result.error.inReplyTo?.length ?? 0).toBeLessThanOrEqual(64);
      }
    }
  });

  it("validates the server's messages with the same function", () => {
    const welcome = { type: "welcome", protocolVersion: 1, serverVersion: "0.1.0", capabilities: [], deviceId: HELLO.deviceId, heartbeatSeconds: 30 };
    expect(parseMessage(ServerMessageSchema, JSON.stringify(welcome))).toEqual({ ok: true, message: welcome });
    const bad = parseMessage(ServerMessageSchema, JSON.stringify({ ...welcome, heartbeatSeconds: 0 }));
    expect(bad.ok ? undefined : bad.error.message).toContain("at heartbeatSeconds:");
  });
});

describe("sameMachine", () => {
  const known: MachineFingerprint = { machineId: "mid-a", serial: "CZ1234ABC", macs: ["00:16:3e:00:00:01"] };

  it.each<[string, MachineFingerprint, boolean]>([
    ["the same facts", { ...known }, true],
    ["only the MACs changed (dock, new NIC)", { ...known, macs: ["aa:bb:cc:dd:ee:ff"] }, true],
    ["another machine id", { ...known, machineId: "mid-b" }, false],
    ["another serial", { ...known, serial: "CZ9999XYZ" }, false],
    ["the same serial with surrounding spaces", { ...known, serial: "  CZ1234ABC " }, true],
    ["no machine id and the same serial", { serial: "CZ1234ABC", macs: [] }, true],
    ["no machine id and another serial", { serial: "CZ9999XYZ", macs: [] }, false],
    ["the same machine id and no serial", { machineId: "mid-a", macs: [] }, true],
    ["no facts at all", { macs: [] }, true],
  ])("compares with %s", (_what, presented, expected) => {
    expect(sameMachine(known, presented)).toBe(expected);
  });

  it.each(["To Be Filled By O.E.M.", "System Serial Number", "Default string", "0", "0000000", "Not Specified", "none", "123456789", " "])(
    'ignores the placeholder serial "%s" on either side',
    (placeholder) => {
      const withoutId = { serial: "CZ1234ABC", macs: [] };
      expect(sameMachine(withoutId, { serial: placeholder, macs: [] })).toBe(true);
      expect(sameMachine({ serial: placeholder, macs: [] }, withoutId)).toBe(true);
    },
  );

  it("still tells machines apart by machine id when the serials are placeholders", () => {
    expect(sameMachine({ machineId: "mid-a", serial: "0", macs: [] }, { machineId: "mid-b", serial: "0", macs: [] })).toBe(false);
  });
});
