import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The API token kept in RUNWAY_HOME (0600, in a 0700 folder), made on first use. */
export function loadOrCreateToken(home: string): string {
  const path = join(home, "token");
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token.length >= 16) return token;
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString("base64url");
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/**
 * Compares in time independent of where the strings differ: both sides are hashed first, so even
 * their lengths stay private, then compared with timingSafeEqual.
 */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** A Host header naming this machine's loopback (any port). */
export function loopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The token a request carries: `Authorization: Bearer …`, or the cookie the login page sets. */
export function tokenOf(headers: { authorization?: string | undefined; cookie?: string | undefined }): string | null {
  const auth = headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7).trim();
  const m = /(?:^|;\s*)runway_token=([^;]+)/.exec(headers.cookie ?? "");
  return m ? decodeURIComponent(m[1]!) : null;
}

/**
 * A browser's request that changes state must come from this origin: Sec-Fetch-Site when the
 * browser sends it, else Origin against Host. Programs that send neither (curl, scripts) are
 * not browsers a page could trick, and still need the token.
 */
export function sameOrigin(headers: { "sec-fetch-site"?: string | undefined; origin?: string | undefined; host?: string | undefined }): boolean {
  const site = headers["sec-fetch-site"];
  if (site) return site === "same-origin" || site === "none";
  const origin = headers.origin;
  if (!origin || origin === "null") return origin === undefined;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}

/** Nothing from elsewhere: scripts, styles, images and connections all come from this server. */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};
