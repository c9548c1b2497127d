import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect, type DetailedPeerCertificate, type TLSSocket } from "node:tls";
import { asUnreachable, CaPinMismatchError, timeoutError, TlsTrustError } from "../net-errors.js";
import { x509Fingerprint } from "./fingerprint.js";

export interface FetchPinnedCaOptions {
  timeoutMs?: number;
}

/**
 * Fetches the control plane's CA certificate (PEM) over a TLS handshake, trusting it only if its
 * SHA-256 fingerprint equals `fingerprint`, as `kubeadm join --discovery-token-ca-cert-hash` does.
 *
 * The handshake itself is unverified (there is nothing to verify against yet); the pin is what makes
 * the result trustworthy. Checking that the server's certificate chains to the pinned CA also catches
 * an interceptor that replays the real CA certificate next to its own leaf. Nothing but the CA
 * certificate leaves this function, and later connections verify the server against it in full.
 */
export async function fetchPinnedCa(url: string, fingerprint: string, options: FetchPinnedCaOptions = {}): Promise<string> {
  const target = new URL(url);
  if (target.protocol !== "https:") throw new TypeError(`the control plane URL must start with https://, not ${target.protocol}//`);
  const pin = fingerprint.toLowerCase().replace(/:/g, "");
  const chain = await presentedChain(target, options.timeoutMs ?? 10_000);

  const pinnedIndex = chain.findIndex((cert) => x509Fingerprint(cert) === pin);
  if (pinnedIndex === -1) {
    // The chain is never empty: a TLS server always presents at least its own certificate.
    const top = chain[chain.length - 1] as X509Certificate;
    throw new CaPinMismatchError(target.href, x509Fingerprint(top), top.ca, pin);
  }
  const ca = chain[pinnedIndex] as X509Certificate;
  if (!ca.ca) throw new TlsTrustError(target.href, "PINNED_CERT_NOT_CA", "the pinned certificate is not a CA certificate");
  for (let i = 0; i < pinnedIndex; i++) {
    const child = chain[i] as X509Certificate;
    const issuer = chain[i + 1] as X509Certificate;
    if (!issuer.ca || !child.verify(issuer.publicKey)) {
      throw new TlsTrustError(target.href, "NOT_SIGNED_BY_PINNED_CA", "it does not chain to the pinned CA, although that CA was presented");
    }
  }
  return ca.toString();
}

/** The server's certificate chain, leaf first, as linked by issuer during the handshake. */
function presentedChain(url: URL, timeoutMs: number): Promise<X509Certificate[]> {
  // URL keeps IPv6 literals in brackets; tls.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({
      host,
      port: Number(url.port || 443),
      // SNI must not carry an IP address (RFC 6066 §3).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeoutError(url, timeoutMs));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const chain = chainOf(socket.getPeerCertificate(true));
      socket.end();
      resolve(chain);
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(asUnreachable(error, url));
    });
  });
}

function chainOf(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  // A self-signed root's issuerCertificate is the root itself, so stop at the first repeat.
  for (let cert: DetailedPeerCertificate | undefined = peer; cert?.raw; cert = cert.issuerCertificate) {
    const x509 = new X509Certificate(cert.raw);
    const fingerprint = x509Fingerprint(x509);
    if (seen.has(fingerprint)) break;
    seen.add(fingerprint);
    chain.push(x509);
  }
  return chain;
}
