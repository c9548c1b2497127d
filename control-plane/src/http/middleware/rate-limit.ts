import type { RequestHandler } from "express";
import { TooManyRequestsError } from "../../errors.js";
import type { RateLimiter } from "../../services/rate-limiter.js";

/** Limits requests per client address (429 with Retry-After); `what` names them in the message. */
export function limitPerAddress(limiter: RateLimiter, what: string): RequestHandler {
  return (req, _res, next) => {
    const wait = limiter.take(addressKey(req.socket.remoteAddress ?? "unknown"));
    next(wait > 0 ? new TooManyRequestsError(`too many ${what} from your address: try again in ${wait} s`, wait) : undefined);
  };
}

/**
 * The key a client address is counted under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64,
 * the block one subscriber is given, so stepping through addresses in it does not reset the count.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (!bare.includes(":")) return bare;
  const [head = "", tail] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}
