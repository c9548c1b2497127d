import { z } from "zod";

/** The OS-arch pairs the agent is built for, as in `tether-agent-<target>` (see docs/packaging.md). */
export const AGENT_TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win-x64"] as const;
export type AgentTarget = (typeof AGENT_TARGETS)[number];

/** The file name of the agent binary for a target. */
export function agentBinaryName(target: AgentTarget): string {
  return `tether-agent-${target}${target.startsWith("win-") ? ".exe" : ""}`;
}

export const DownloadSchema = z
  .object({
    name: z.string(),
    size: z.number().int(),
    /** Lower-case hex SHA-256 of the file. */
    sha256: z.string(),
    /** Where to download it: this server's `/downloads/<name>`. */
    url: z.string(),
    /** `linux-x64`, `darwin-arm64`, …, when the file's name says which OS and CPU it is for; absent otherwise. */
    target: z.string().optional(),
  })
  .meta({ id: "Download" });
export type Download = z.infer<typeof DownloadSchema>;

export const DownloadListSchema = z.object({ items: z.array(DownloadSchema) }).meta({ id: "DownloadList" });

/** Stands for the connect key in the one-liners: connect keys are shown only when they are created. */
export const CONNECT_KEY_PLACEHOLDER = "CONNECT_KEY";

export const InstallCommandsSchema = z
  .object({
    /** The control plane the one-liners fetch the install scripts from (its public URL). */
    url: z.string(),
    /** For Linux and macOS: a shell command, run by an admin who can sudo. */
    linux: z.string(),
    /** For Windows: PowerShell, run in a PowerShell window opened as Administrator. */
    windows: z.string(),
    /** What the commands hold in place of the connect key. */
    connectKeyPlaceholder: z.literal(CONNECT_KEY_PLACEHOLDER),
    /**
     * curl's `sha256//…` pin of the server certificate's public key, when the server uses its own CA;
     * null with a publicly trusted certificate (`--tls-cert`), which needs no pin.
     */
    pinnedPublicKey: z.string().nullable(),
  })
  .meta({ id: "InstallCommands" });
export type InstallCommands = z.infer<typeof InstallCommandsSchema>;
