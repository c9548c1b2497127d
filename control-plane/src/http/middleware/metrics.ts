import type { RequestHandler } from "express";
import type { Logger } from "pino";
import type { Metrics } from "../../metrics.js";

/** Counts requests by route pattern (not raw path, which would explode label cardinality). */
export function requestMetrics(metrics: Metrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      logger.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, "http request");
    });
    next();
  };
}
