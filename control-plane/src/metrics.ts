import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics for one server instance. The default Node metrics include event-loop lag
 * (nodejs_eventloop_lag_p50/p99_seconds), heap and RSS.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: "tether_http_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "tether_http_request_duration_seconds",
    help: "HTTP request duration by route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly wsMessages = new Counter({
    name: "tether_ws_messages_total",
    help: "Agent WebSocket messages by direction and type",
    labelNames: ["direction", "type"] as const,
    registers: [this.registry],
  });
  readonly agentsConnected: Gauge;
  readonly eventLoopLag: Gauge<"quantile">;

  constructor(connectedAgents: () => number) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    this.agentsConnected = new Gauge({
      name: "tether_agents_connected",
      help: "Agents with a live, welcomed WebSocket session",
      registers: [this.registry],
      collect() {
        this.set(connectedAgents());
      },
    });
    this.eventLoopLag = eventLoopLagGauge(this.registry);
  }
}

const LAG_RESOLUTION_MS = 5;

/**
 * Event-loop lag since the previous scrape, by quantile. Node's histogram records the whole interval
 * between samples, so the sampling resolution is subtracted to leave only the delay.
 */
function eventLoopLagGauge(registry: Registry): Gauge<"quantile"> {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  return new Gauge({
    name: "tether_eventloop_lag_seconds",
    help: "Event-loop lag since the previous scrape, by quantile (sampled every 5 ms)",
    labelNames: ["quantile"] as const,
    registers: [registry],
    collect() {
      for (const q of [50, 90, 99, 100]) {
        const ns = q === 100 ? histogram.max : histogram.percentile(q);
        this.set({ quantile: String(q / 100) }, Math.max(0, ns / 1e9 - LAG_RESOLUTION_MS / 1000));
      }
      histogram.reset();
    },
  });
}
