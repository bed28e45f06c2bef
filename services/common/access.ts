/**
 * Who may call a tglens service, checked before a request's body is read. Three things guard the
 * API: bearer tokens (an admin token for changes, a read-only one for reading), the Host header
 * (only names this deployment is known by, so DNS rebinding cannot turn a web page into a local
 * client), and, for changes, the request's origin and a JSON content type (so a page in a browser
 * cannot post a blind form or `no-cors` upload). Without tokens (only allowed on loopback) the
 * Host, origin and content-type checks still apply.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { TglensError } from "./errors.ts";

/**
 * What a route needs. `open`: nothing (liveness and readiness probes, which carry no data);
 * `public`: a known Host, but no token (the API's description, the Telegram webhook with its own
 * secret); `read`: either token; `admin`: the admin token.
 */
export type AccessRule = "open" | "public" | "read" | "admin";

declare module "fastify" {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
}

export interface AccessSettings {
  /** TGLENS_API_TOKEN: every route. */
  adminToken: string | undefined;
  /** TGLENS_API_READ_TOKEN: routes that change nothing. */
  readToken: string | undefined;
  /** Host names (no port) requests may be addressed to, besides the loopback names. */
  allowedHosts: readonly string[];
}

/** The minimum of a request the checks look at (a Fastify request is one). */
export interface AccessRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

export type Role = "admin" | "read" | "anonymous";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** A host name as compared: lower case, no brackets around IPv6, no trailing dot. */
export function normaliseHostname(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), or undefined when it is not one. */
export function hostnameOf(hostHeader: string): string | undefined {
  if (hostHeader === "" || /[\s/?#@\\]/.test(hostHeader)) return undefined;
  try {
    return normaliseHostname(new URL(`http://${hostHeader}`).hostname);
  } catch {
    return undefined;
  }
}

/** Whether listening on `host` keeps the servers to this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = normaliseHostname(host);
  return LOOPBACK_NAMES.includes(name) || /^127(\.\d{1,3}){3}$/.test(name);
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Equal secrets, compared in constant time whatever their lengths (digests have one length). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The rule of a route: what it declares, else public for the API description, else by method. */
export function ruleFor(method: string, routeUrl: string | undefined, declared: AccessRule | undefined): AccessRule {
  if (declared) return declared;
  if (routeUrl === "/openapi.json" || routeUrl === "/docs" || routeUrl?.startsWith("/docs/")) return "public";
  return SAFE_METHODS.has(method) ? "read" : "admin";
}

const header = (req: AccessRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** For messages: an attacker's header value, short and on one line. */
const shown = (value: string) => JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);

export interface AccessPolicy {
  readonly tokensRequired: boolean;
  /** The caller's role when the request may go on; throws the refusal (401, 403 or 415) otherwise. */
  check(req: AccessRequest, rule: AccessRule): Role;
}

export function createAccessPolicy(settings: AccessSettings | undefined): AccessPolicy {
  const adminToken = settings?.adminToken;
  const readToken = settings?.readToken;
  const tokensRequired = adminToken !== undefined || readToken !== undefined;
  const hosts = new Set([...LOOPBACK_NAMES, ...(settings?.allowedHosts ?? []).map(normaliseHostname)]);

  function checkHost(req: AccessRequest): string {
    const host = header(req, "host");
    if (host === undefined) throw new TglensError("TGLENS_FORBIDDEN", "the request has no Host header");
    const name = hostnameOf(host);
    if (name === undefined || !hosts.has(name)) {
      throw new TglensError(
        "TGLENS_FORBIDDEN",
        `requests for Host ${shown(host)} are refused: this server answers to ${[...hosts].join(", ")} (add a name to TGLENS_ALLOWED_HOSTS)`,
      );
    }
    return host;
  }

  /** A change must come from this server's own origin, or from no browser page at all. */
  function checkOrigin(req: AccessRequest, host: string): void {
    if (header(req, "sec-fetch-site")?.toLowerCase() === "cross-site") {
      throw new TglensError("TGLENS_FORBIDDEN", "a change requested by another site's page (Sec-Fetch-Site: cross-site) is refused");
    }
    const origin = header(req, "origin");
    if (origin === undefined) return;
    let same: boolean;
    try {
      const o = new URL(origin);
      const h = new URL(`${o.protocol}//${host}`);
      same = (o.protocol === "http:" || o.protocol === "https:") && o.host === h.host;
    } catch {
      same = false;
    }
    if (!same)
      throw new TglensError(
        "TGLENS_FORBIDDEN",
        `a change requested from origin ${shown(origin)} is refused: only this server's own origin may make changes`,
      );
  }

  function role(req: AccessRequest): Role {
    const auth = header(req, "authorization");
    const m = auth === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (!m) {
      throw new TglensError(
        "TGLENS_UNAUTHORIZED",
        "this server needs an API token: send `Authorization: Bearer <token>` (TGLENS_API_TOKEN, or TGLENS_API_READ_TOKEN for reading)",
      );
    }
    const given = m[1]!;
    // Both comparisons always run, so the time taken does not say which token came close.
    const isAdmin = adminToken !== undefined && tokenMatches(given, adminToken);
    const isRead = readToken !== undefined && tokenMatches(given, readToken);
    if (isAdmin) return "admin";
    if (isRead) return "read";
    throw new TglensError("TGLENS_UNAUTHORIZED", "the API token is wrong");
  }

  function checkContentType(req: AccessRequest): void {
    const type = header(req, "content-type")?.split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      throw new TglensError(
        "TGLENS_UNSUPPORTED_MEDIA_TYPE",
        `a ${req.method} needs Content-Type: application/json${type ? `, not ${shown(type)}` : " (none was sent)"}`,
      );
    }
  }

  return {
    tokensRequired,
    check(req, rule) {
      if (rule === "open") return "anonymous";
      const host = checkHost(req);
      const changes = !SAFE_METHODS.has(req.method);
      if (changes) checkOrigin(req, host);
      let who: Role = "anonymous";
      if (rule !== "public" && tokensRequired) {
        who = role(req);
        if (rule === "admin" && who !== "admin") {
          throw new TglensError("TGLENS_FORBIDDEN", "the read-only API token cannot change anything: use TGLENS_API_TOKEN");
        }
      }
      if (BODY_METHODS.has(req.method)) checkContentType(req);
      return who;
    },
  };
}
