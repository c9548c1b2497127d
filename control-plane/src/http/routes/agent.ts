import { EnrollRequestSchema, EnrollResponseSchema } from "../../../../shared/src/protocol/enrollment.js";
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
  ];
}
