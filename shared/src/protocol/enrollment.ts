import { z } from "zod";

/** `POST /agent/v1/enroll`: the agent's request, authenticated by the connect key's secret. */
export const EnrollRequestSchema = z
  .object({
    connectKeySecret: z.string().min(1).max(128),
    /** PEM CSR for the agent's own key pair; its subject is ignored (the server names the device). */
    csrPem: z.string().min(1).max(16_384),
    hostname: z.string().min(1).max(255),
    platform: z.enum(["linux", "darwin", "windows"]),
    /** Absent: the hostname. */
    displayName: z.string().trim().min(1).max(255).optional(),
    /** Names of existing device groups to join. Absent: none. */
    deviceGroups: z.array(z.string().min(1).max(100)).max(50).optional(),
  })
  .strict()
  .meta({ id: "EnrollRequest" });
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z
  .object({
    deviceId: z.string(),
    certificatePem: z.string(),
    caChainPem: z.string(),
    certificateExpiresAt: z.string(),
  })
  .meta({ id: "EnrollResponse" });
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;
