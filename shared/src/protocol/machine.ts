import type { MachineFingerprint } from "./inventory.js";

/** The facts the rule compares; MACs may be there but are not compared. */
export type MachineFacts = Pick<MachineFingerprint, "machineId" | "serial"> & { macs?: readonly string[] };

/**
 * The clone rule, shared by the control plane (is this hello from the machine that first used the
 * identity?) and the agent (is this the machine a system image was made on?): two fingerprints are the
 * same machine unless a strong, stable fact differs — the OS machine id or the hardware serial, compared
 * only when both sides report it. MAC addresses alone do not decide: docks, USB adapters and replaced NICs
 * change them on the same machine. Serials that vendors leave as placeholders ("To Be Filled By O.E.M.",
 * "0", "System Serial Number") are ignored.
 */
export function sameMachine(known: MachineFacts, presented: MachineFacts): boolean {
  if (known.machineId && presented.machineId && known.machineId !== presented.machineId) return false;
  const a = meaningfulSerial(known.serial);
  const b = meaningfulSerial(presented.serial);
  return !(a && b && a !== b);
}

/** Whether a fingerprint holds anything the rule can compare: without it, no copy can be told apart. */
export function canTellApart(fingerprint: MachineFacts): boolean {
  return Boolean(fingerprint.machineId || meaningfulSerial(fingerprint.serial));
}

const PLACEHOLDER_SERIALS = /^(0+|none|default string|to be filled by o\.e\.m\.|system serial number|not specified|123456789)$/i;

function meaningfulSerial(serial: string | undefined): string | undefined {
  const trimmed = serial?.trim();
  return trimmed && !PLACEHOLDER_SERIALS.test(trimmed) ? trimmed : undefined;
}
