import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { splitPemChain } from "../../shared/src/tls/fingerprint.js";
import type { ServeConfig } from "./config.js";
import { dataPaths, initialisedMarker } from "./data-dir.js";
import { AgentGateway } from "./gateway/gateway.js";
import { createApp } from "./http/app.js";
import { normalisePublicUrl } from "./init.js";
import { Metrics } from "./metrics.js";
import { CertificateAuthority } from "./pki/ca.js";
import { signDeviceCsr } from "./pki/device-certificate.js";
import { systemClock } from "./services/clock.js";
import { createServices, type Services } from "./services/index.js";
import type { DeviceCertificateSigner } from "./services/ports.js";
import { SETTING } from "./settings.js";
import { BlobStore } from "./store/blobs.js";
import { openDatabase, refreshPlannerStatistics } from "./store/db.js";
import { createStores } from "./store/index.js";
import { SERVER_VERSION } from "./version.js";

/** How often the query planner's statistics are refreshed (see refreshPlannerStatistics). */
const PLANNER_STATISTICS_INTERVAL_MS = 3 * 60 * 60_000;

export interface RunningControlPlane {
  /** The URL this instance listens on (its real port, even when started on port 0). */
  listenUrl: string;
  publicUrl: string;
  services: Services;
  gateway: AgentGateway;
  close(): Promise<void>;
}

/**
 * The control plane's composition root: opens the store, loads the CA, wires services, HTTP routes
 * and the agent gateway onto one HTTPS port, and listens.
 */
export async function startControlPlane(config: ServeConfig, logger: Logger): Promise<RunningControlPlane> {
  const paths = dataPaths(config.dataDir);
  if (!initialisedMarker(paths)) {
    throw new Error(`${config.dataDir} is not initialised: run "tether-server init --data-dir ${config.dataDir} --public-url URL" first`);
  }
  const db = openDatabase(paths.database);
  const stores = createStores(db);
  stores.devices.markAllOffline();

  const ca = new CertificateAuthority({ certPem: readFileSync(paths.caCert, "utf8"), keyPem: readFileSync(paths.caKey, "utf8") });
  const signer: DeviceCertificateSigner = {
    signDevice: (csrPem, deviceId, now) => signDeviceCsr(ca, csrPem, { deviceId, validitySeconds: config.deviceCertValiditySeconds, now }),
    caChainPem: ca.certPem,
  };
  const externalTls = Boolean(config.tlsCertFile);
  const publicUrl = normalisePublicUrl(config.publicUrl ?? stores.settings.get(SETTING.publicUrl) ?? "");
  const serverCertPem = readFileSync(config.tlsCertFile ?? paths.serverCert, "utf8");

  const gateway = new AgentGateway({
    logger: logger.child({ component: "gateway" }),
    serverVersion: SERVER_VERSION,
    heartbeatSeconds: config.heartbeatSeconds,
    inventoryIntervalSeconds: config.inventoryIntervalSeconds,
  });
  const services = createServices(stores, {
    signer,
    presence: gateway,
    channel: gateway,
    blobs: new BlobStore(paths.filesDir),
    clock: systemClock,
    logger: logger.child({ component: "commands" }),
    dataKeyFile: paths.dataKey,
    // With a certificate from a public CA, agents trust the system store, so keys carry no pin.
    identity: () => ({ publicUrl, caFingerprint: externalTls ? null : ca.fingerprint }),
    downloadsDir: config.downloadsDir,
    serverTls: { certificatePem: splitPemChain(serverCertPem)[0] ?? serverCertPem, caPem: externalTls ? null : ca.certPem },
  });
  const metrics = new Metrics(() => gateway.connectedCount);
  gateway.bind({ service: services.agentSessions, executions: services.executions, dispatcher: services.dispatcher, metrics });

  const app = createApp({ services, metrics, logger: logger.child({ component: "http" }), version: SERVER_VERSION, bodyLimit: config.bodyLimit, fileLimit: config.fileLimit });
  const server = createServer(
    {
      // The generated certificate is sent with its CA, so an agent can find the CA its connect key pins.
      cert: externalTls ? serverCertPem : serverCertPem + ca.certPem,
      key: readFileSync(config.tlsKeyFile ?? paths.serverKey),
      // Client certificates are asked for, verified against our CA, but not required: REST clients
      // have none. The gateway refuses an agent whose certificate did not verify.
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
      // Small request/response exchanges (TLS handshake, upgrade, hello) must not wait for Nagle.
      noDelay: true,
    },
    app,
  );
  gateway.attach(server);
  await listen(server, config.listenHost, config.listenPort);
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const listenUrl = `https://${host}:${address.port}`;
  services.scheduler.start();
  // Hashing the agent binaries (≈ 100 MB each) now spares the first install that wait.
  services.downloads.warm().then(
    (files) => logger.info({ dir: config.downloadsDir, files }, "agent downloads ready"),
    (error: unknown) => logger.warn({ err: error, dir: config.downloadsDir }, "could not read the downloads directory"),
  );
  const expiry = setInterval(() => {
    services.dispatcher.expire();
    services.portalAuth.sweep();
  }, config.expirySweepMs);
  expiry.unref();
  const statistics = setInterval(() => refreshPlannerStatistics(db), PLANNER_STATISTICS_INTERVAL_MS);
  statistics.unref();
  logger.info({ listen: listenUrl, publicUrl, version: SERVER_VERSION, externalTls }, "control plane listening");

  let closing: Promise<void> | undefined;
  return {
    listenUrl,
    publicUrl,
    services,
    gateway,
    close: () => {
      closing ??= (async () => {
        services.scheduler.stop();
        clearInterval(expiry);
        clearInterval(statistics);
        await gateway.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        services.executions.close();
        db.close();
        logger.info("control plane stopped");
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
