import { createPrivateKey, randomUUID, X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { CertRenewed, ErrorMessage } from "../../../shared/src/protocol/messages.js";
import type { MessageSink } from "../connection/client.js";
import { generateKeyAndCsr } from "./csr.js";
import type { Identity, IdentityStore } from "./store.js";

/** Renew once two thirds of the certificate's life (as this agent received it) has passed. */
export const RENEW_AT_FRACTION = 2 / 3;
const RETRY_MS = 10 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function renewalDueAt(identity: Pick<Identity, "certificateReceivedAt" | "certificateExpiresAt">): number {
  const received = Date.parse(identity.certificateReceivedAt);
  const expires = Date.parse(identity.certificateExpiresAt);
  return received + (expires - received) * RENEW_AT_FRACTION;
}

export interface RenewerOptions {
  store: IdentityStore;
  identity: () => Identity;
  replaceIdentity: (identity: Identity) => void;
  logger: Logger;
  now?: () => number;
}

/**
 * Renews the device certificate over the live connection, well before it expires, with a fresh key
 * pair each time. The new key and certificate are saved together and used from the next connection.
 */
export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private pending: { requestId: string; keyPem: string } | undefined;
  private sink: MessageSink | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RenewerOptions) {
    this.now = options.now ?? Date.now;
  }

  onWelcome(sink: MessageSink): void {
    this.sink = sink;
    this.pending = undefined;
    this.schedule(renewalDueAt(this.options.identity()) - this.now());
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async onRenewed(message: CertRenewed): Promise<void> {
    const pending = this.pending;
    if (!pending || pending.requestId !== message.requestId) return;
    this.pending = undefined;
    const current = this.options.identity();
    const cert = new X509Certificate(message.certificatePem);
    if (!cert.checkPrivateKey(createPrivateKey(pending.keyPem)) || !cert.subject.split("\n").includes(`CN=${current.deviceId}`)) {
      this.options.logger.error("the renewed certificate does not match the request; keeping the current one");
      this.schedule(RETRY_MS);
      return;
    }
    const renewed: Identity = {
      ...current,
      keyPem: pending.keyPem,
      certificatePem: message.certificatePem,
      certificateReceivedAt: new Date(this.now()).toISOString(),
      certificateExpiresAt: new Date(cert.validTo).toISOString(),
    };
    await this.options.store.save(renewed);
    this.options.replaceIdentity(renewed);
    this.options.logger.info({ expiresAt: renewed.certificateExpiresAt }, "device certificate renewed");
    this.schedule(renewalDueAt(renewed) - this.now());
  }

  onError(message: ErrorMessage): void {
    if (!this.pending || message.inReplyTo !== this.pending.requestId) return;
    this.pending = undefined;
    this.options.logger.warn({ problem: message.message }, "certificate renewal refused; will retry");
    this.schedule(RETRY_MS);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    // Long delays are cut into steps that fit a timer; each step re-checks what is due.
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(delayMs, MAX_TIMER_MS)));
    this.timer.unref();
  }

  private tick(): void {
    const due = renewalDueAt(this.options.identity());
    if (this.now() < due) {
      this.schedule(due - this.now());
      return;
    }
    const { keyPem, csrPem } = generateKeyAndCsr(this.options.identity().deviceId);
    const requestId = randomUUID();
    if (this.sink?.send({ type: "cert.renew", requestId, csrPem })) {
      this.pending = { requestId, keyPem };
      this.options.logger.info("requesting a renewed device certificate");
    }
    // If the answer never comes (connection lost), the next welcome schedules again.
    this.schedule(RETRY_MS);
  }
}
