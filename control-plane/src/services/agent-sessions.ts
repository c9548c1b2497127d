import { CloseCode } from "../../../shared/src/protocol/close-codes.js";
import type { Inventory, MachineFingerprint } from "../../../shared/src/protocol/inventory.js";
import type { Hello } from "../../../shared/src/protocol/messages.js";
import { MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION } from "../../../shared/src/protocol/version.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import { sameMachine } from "./machine-identity.js";
import type { AgentPresence, DeviceCertificateSigner, IssuedCertificate } from "./ports.js";

export type Admission = "ok" | "revoked" | "unknown";

export type HelloDecision =
  | { accept: true; protocolVersion: number }
  | { accept: false; code: number; reason: string };

/**
 * The rules for agent sessions, called by the gateway: who may connect, what a hello must carry,
 * clone detection, inventory and certificate renewal. The gateway owns sockets; this owns decisions.
 */
export class AgentSessionService {
  constructor(
    private readonly stores: Stores,
    private readonly signer: DeviceCertificateSigner,
    private readonly presence: AgentPresence,
  ) {}

  admit(deviceId: string): Admission {
    if (this.stores.devices.get(deviceId)) return "ok";
    return this.stores.devices.isRevoked(deviceId) ? "revoked" : "unknown";
  }

  hello(deviceId: string, hello: Hello, remoteIp: string | null, now: Date): HelloDecision {
    if (hello.deviceId !== deviceId) {
      return { accept: false, code: CloseCode.ProtocolError, reason: "hello names another device than the client certificate" };
    }
    if (hello.protocolVersion < MIN_SUPPORTED_PROTOCOL_VERSION) {
      return {
        accept: false,
        code: CloseCode.UnsupportedProtocol,
        reason: `protocol version ${hello.protocolVersion} is too old; this server speaks ${MIN_SUPPORTED_PROTOCOL_VERSION}–${PROTOCOL_VERSION}: upgrade the agent`,
      };
    }
    return this.stores.transaction(() => {
      const known = this.stores.devices.machine(deviceId);
      if (known && !sameMachine(known, hello.machine)) {
        this.stores.devices.flagClone(deviceId, now.toISOString());
        audit(this.stores.events, { actor: { type: "agent", id: deviceId }, remoteAddr: remoteIp, now }, {
          action: "device.clone-detected",
          objectType: "device",
          objectId: deviceId,
          details: { known, presented: hello.machine, originalConnected: this.presence.isConnected(deviceId) },
        });
        return {
          accept: false,
          code: CloseCode.CloneDetected,
          reason: "this identity belongs to another machine (machine id or serial differs): re-enroll this machine",
        } as const;
      }
      if (!known && hello.clonedFrom) this.recordCloneReenrolled(deviceId, hello, remoteIp, now);
      this.stores.devices.markOnline(
        deviceId,
        {
          hostname: hello.os.hostname,
          os: hello.os.platform,
          arch: hello.os.arch,
          agentVersion: hello.agentVersion,
          protocolVersion: hello.protocolVersion,
          remoteIp,
        },
        mergeMachine(known, hello.machine),
        now.toISOString(),
      );
      return { accept: true, protocolVersion: Math.min(hello.protocolVersion, PROTOCOL_VERSION) } as const;
    });
  }

  /**
   * The clone rule's second half: a machine refused as a clone enrolled as a device of its own, and its
   * first hello names the identity it carried. That goes into the original device's history, once, and
   * only when the claim holds up: the original was flagged as cloned and its machine is not this one.
   */
  private recordCloneReenrolled(deviceId: string, hello: Hello, remoteIp: string | null, now: Date): void {
    const originalId = hello.clonedFrom!;
    const originalMachine = this.stores.devices.machine(originalId);
    if (!this.stores.devices.get(originalId)?.cloneSuspectedAt || !originalMachine || sameMachine(originalMachine, hello.machine)) return;
    audit(this.stores.events, { actor: { type: "agent", id: deviceId }, remoteAddr: remoteIp, now }, {
      action: "device.clone-reenrolled",
      objectType: "device",
      objectId: originalId,
      details: { newDeviceId: deviceId, hostname: hello.os.hostname, machine: hello.machine },
    });
  }

  inventory(deviceId: string, inventory: Inventory, now: Date): void {
    this.stores.devices.saveInventory(deviceId, inventory, now.toISOString());
  }

  disconnected(deviceId: string, now: Date): void {
    this.stores.devices.markOffline(deviceId, now.toISOString());
  }

  /** Records that these sessions are alive; the gateway calls it in batches, not per ping. */
  touch(deviceIds: readonly string[], now: Date): void {
    if (deviceIds.length > 0) this.stores.transaction(() => this.stores.devices.touch(deviceIds, now.toISOString()));
  }

  /** Issues a new certificate for a live session's device; throws on an unacceptable CSR. */
  renewCertificate(deviceId: string, csrPem: string, remoteIp: string | null, now: Date): IssuedCertificate & { caChainPem: string } {
    const issued = this.signer.signDevice(csrPem, deviceId, now);
    this.stores.transaction(() => {
      this.stores.devices.setCertificate(deviceId, issued.serialNumber, issued.notAfter.toISOString());
      audit(this.stores.events, { actor: { type: "agent", id: deviceId }, remoteAddr: remoteIp, now }, {
        action: "device.certificate-renewed",
        objectType: "device",
        objectId: deviceId,
        details: { serialNumber: issued.serialNumber, notAfter: issued.notAfter.toISOString() },
      });
    });
    return { ...issued, caChainPem: this.signer.caChainPem };
  }
}

/** Keeps the first-seen machine id and serial (the clone rule compares against them) and the latest MACs. */
function mergeMachine(known: MachineFingerprint | null, presented: MachineFingerprint): MachineFingerprint {
  if (!known) return presented;
  return { ...presented, machineId: known.machineId ?? presented.machineId, serial: known.serial ?? presented.serial };
}
