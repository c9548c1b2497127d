import { EnrollRequestSchema, EnrollResponseSchema } from "../../../../shared/src/protocol/enrollment.js";
import { z } from "zod";
import type { Services } from "../../services/index.js";
import { route } from "../route.js";

/** Routes agents call over plain HTTPS (the WebSocket itself is served by the gateway). */
export function agentRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/agent/v1/enroll",
      summary: "Enroll a device with a connect key and a CSR; returns its certificate",
      tag: "agent",
      access: "public",
      body: EnrollRequestSchema,
      response: EnrollResponseSchema,
      status: 201,
      handle: ({ body, ctx }) => s.enrollment.enroll(ctx, body),
    }),
    route({
      method: "get",
      path: "/agent/v1/files/:sha256",
      summary: "Download a command attachment by its SHA-256 (device certificate required)",
      tag: "agent",
      access: "agent",
      params: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lower-case hex SHA-256") }),
      response: z.string().meta({ description: "the file's bytes (application/octet-stream)" }),
      handle: ({ params, res }) =>
        new Promise<void>((resolve, reject) => {
          res.type("application/octet-stream");
          res.sendFile(s.files.pathForAgent(params.sha256), (error) => (error ? reject(error) : resolve()));
        }),
    }),
  ];
}
