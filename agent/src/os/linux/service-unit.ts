import { NO_RESTART_EXIT_CODES } from "../../exit-codes.js";
import type { InstallLayout } from "../types.js";

export const SYSTEMD_UNIT_NAME = "tether-agent.service";
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";
/** Where the deb and rpm packages put the unit (an admin's copy in SYSTEMD_UNIT_DIR would override it). */
export const SYSTEMD_PACKAGE_UNIT_DIR = "/usr/lib/systemd/system";

/**
 * The agent's systemd unit for `layout`. Each hardening choice is explained in docs/service.md; in short,
 * the agent's commands are an admin's root shell (accounts, sshd, packages, sysctl, kernel modules),
 * and they inherit every sandbox option given to the agent, so only options that no admin script needs
 * are on. The sandbox is no security boundary for a root agent that runs scripts anyway: a script can
 * ask systemd for a new unit outside it.
 */
export function renderSystemdUnit(layout: Pick<InstallLayout, "binary" | "packaged">): string {
  const origin = layout.packaged ? "Installed by the tether-agent package" : "Written by `tether-agent install`";
  return `# The Tether agent. ${origin}; change it with \`systemctl edit tether-agent\`
# (a drop-in survives upgrades). Every setting is explained in docs/service.md.
[Unit]
Description=Tether agent (device management)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${systemdQuote(layout.binary)} run
Restart=always
RestartSec=5
# Statuses after which a restart cannot help (agent/src/exit-codes.ts): bad settings, a refused
# connect key, no identity, a deleted device (the agent removes its service), an unknown device, an
# unsupported protocol, a cloned identity without a connect key, an expired certificate.
RestartPreventExitStatus=${NO_RESTART_EXIT_CODES.join(" ")}
# SIGTERM to the agent alone, so it can stop its commands and write their results to its outbox; then
# SIGKILL to whatever is left in the unit.
KillMode=mixed
TimeoutStopSec=30
# Commands may run sudo and setuid tools, and account management runs passwd and chpasswd.
NoNewPrivileges=no
# No ProtectSystem/ProtectHome/PrivateTmp: the agent manages /etc (accounts, sshd), home directories
# and packages, and files its commands leave in /tmp must be visible to the rest of the system.
# No ProtectKernelTunables/ProtectKernelModules: commands run sysctl and modprobe.
ProtectControlGroups=yes
RestrictRealtime=yes
LockPersonality=yes
# Node's JIT writes executable memory.
MemoryDenyWriteExecute=no

[Install]
WantedBy=multi-user.target
`;
}

/**
 * Quotes ExecStart's command (its first word) for systemd: double quotes when needed, `%` doubled so no
 * specifier expands. `$` stays as it is: systemd substitutes variables in the arguments, not the command.
 */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/%/g, "%%");
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(word) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
