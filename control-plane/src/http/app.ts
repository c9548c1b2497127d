import express from "express";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { Services } from "../services/index.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { requestMetrics } from "./middleware/metrics.js";
import { limitPerAddress } from "./middleware/rate-limit.js";
import { buildOpenApiDocument } from "./openapi.js";
import { registerRoutes } from "./register.js";
import type { AnyRoute } from "./route.js";
import { agentRoutes } from "./routes/agent.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { bindingRoutes } from "./routes/bindings.js";
import { commandResultRoutes } from "./routes/command-results.js";
import { commandRoutes } from "./routes/commands.js";
import { connectKeyRoutes } from "./routes/connect-keys.js";
import { deviceGroupRoutes } from "./routes/device-groups.js";
import { deviceRoutes } from "./routes/devices.js";
import { downloadRoutes } from "./routes/downloads.js";
import { fileRoutes } from "./routes/files.js";
import { portalActivationRoutes } from "./routes/portal-activation.js";
import { portalRoutes } from "./routes/portal.js";
import { systemRoutes } from "./routes/system.js";
import { userGroupRoutes } from "./routes/user-groups.js";
import { userImportRoutes } from "./routes/user-import.js";
import { userRoutes } from "./routes/users.js";

export interface AppOptions {
  services: Services;
  metrics: Metrics;
  logger: Logger;
  version: string;
  /** Largest accepted request body, in body-parser syntax ("1mb"). */
  bodyLimit: string;
  /** Largest accepted file upload. */
  fileLimit: string;
}

export function allRoutes(services: Services, version: string): AnyRoute[] {
  return [
    ...systemRoutes(services, version),
    ...apiKeyRoutes(services),
    ...connectKeyRoutes(services),
    ...deviceRoutes(services),
    ...deviceGroupRoutes(services),
    ...userImportRoutes(services),
    ...userRoutes(services),
    ...userGroupRoutes(services),
    ...bindingRoutes(services),
    ...commandRoutes(services),
    ...commandResultRoutes(services),
    ...fileRoutes(services),
    ...agentRoutes(services),
    ...downloadRoutes(services),
    ...portalActivationRoutes(services),
    ...portalRoutes(services),
  ];
}

export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestMetrics(options.metrics, options.logger));
  app.use(express.json({ limit: options.bodyLimit }));

  const routes = allRoutes(options.services, options.version);
  const openapi = buildOpenApiDocument(routes, options.version);
  app.get("/api/v1/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  app.get("/metrics", async (_req, res, next) => {
    try {
      res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });
  // Before the route's handler: sign-in attempts per client address (the service limits per account).
  app.post("/portal/v1/login", limitPerAddress(options.services.portalAuth.addressLimiter, "sign-in attempts"));
  registerRoutes(
    app,
    routes,
    { apiKeys: options.services.apiKeys, deviceKnown: (id) => options.services.agentSessions.admit(id) === "ok" },
    options.fileLimit,
  );
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger, options.bodyLimit));
  return app;
}
