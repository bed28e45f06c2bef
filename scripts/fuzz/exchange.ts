/**
 * One request and its answer, as `npm run fuzz` records them from schemathesis's HAR files and from
 * its own hand-made cases, and what it checks on every one: no 5xx, an answer at all, and every
 * error in the one shape `{"error": {"code", "message"}}`. The hand-made cases send through
 * node:http rather than fetch, so that Host, Origin, Content-Encoding and a missing Content-Type
 * go out exactly as written. Reproductions are curl lines against the default ports of
 * `npm start`, so they work without this run's random ports.
 */
import http from "node:http";
import fs from "node:fs/promises";
import path from "node:path";
import { loadConfig, type ServiceName } from "../../services/common/config.ts";

export interface Exchange {
  phase: string;
  service: ServiceName;
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** 0 when no answer came (reset, timeout). */
  status: number;
  response: string;
  /** Why there was no answer. */
  error?: string;
}

/** Where each service listens under `npm start`: the settings' defaults. */
const DEFAULT_URLS = loadConfig({}).urls;

export type Urls = Readonly<Record<ServiceName, string>>;

/** Sends one request exactly as given (no header added but Content-Length for a body) and records it. */
export function send(
  urls: Urls,
  phase: string,
  service: ServiceName,
  method: string,
  target: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<Exchange> {
  const base = new URL(urls[service]);
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) headers["content-length"] = String(body.length);
  const ex: Exchange = { phase, service, method, target, headers, ...(body ? { body } : {}), status: 0, response: "" };
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: target,
        headers,
        timeout: opts.timeoutMs ?? 60_000,
        setHost: !Object.keys(headers).some((h) => h.toLowerCase() === "host"),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ ...ex, status: res.statusCode ?? 0, response: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (err) => resolve({ ...ex, error: err.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 60_000} ms`)));
    req.on("error", (err) => resolve({ ...ex, error: err.message }));
    req.end(body);
  });
}

/** The JSON of an answer, or undefined. */
export function json(ex: Exchange): any {
  try {
    return JSON.parse(ex.response);
  } catch {
    return undefined;
  }
}

/** Why an error answer is not `{"error": {"code", "message"}}`, or undefined when it is (or is no error). */
export function errorShapeProblem(ex: Exchange): string | undefined {
  if (ex.status < 400 || ex.method === "HEAD") return undefined;
  const body = json(ex);
  const e = body?.error;
  if (e && typeof e.code === "string" && typeof e.message === "string") return undefined;
  const answer = ex.response === "" ? "with an empty body" : JSON.stringify(ex.response.slice(0, 160));
  return `${ex.status} answered ${answer}, not {"error": {"code", "message"}}`;
}

/** OpenAPI path templates of each service, to group requests by route. */
export type RouteTable = Map<ServiceName, { template: string; re: RegExp }[]>;

export function addRoutes(table: RouteTable, service: ServiceName, spec: { paths?: Record<string, unknown> }): void {
  const list = table.get(service) ?? [];
  for (const template of Object.keys(spec.paths ?? {})) {
    if (list.some((r) => r.template === template)) continue;
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);
    list.push({ template, re });
  }
  // Literal paths before templated ones (/chats/{id}/stats must not swallow /chats).
  list.sort((a, b) => a.template.split("{").length - b.template.split("{").length);
  table.set(service, list);
}

/** "storage GET /chats/{id}", or the raw path (cut short) for a route the schema does not have. */
export function routeOf(table: RouteTable, ex: Pick<Exchange, "service" | "method" | "target">): string {
  const pathOnly = ex.target.split("?")[0] ?? "";
  let decoded = pathOnly;
  try {
    decoded = decodeURIComponent(pathOnly);
  } catch {
    // keep it encoded
  }
  const hit = table.get(ex.service)?.find((r) => r.re.test(pathOnly) || r.re.test(decoded));
  const shown = hit ? hit.template : pathOnly.length > 50 ? `${pathOnly.slice(0, 50)}…` : pathOnly;
  return `${ex.service} ${ex.method} ${shown}${hit ? "" : " (not in the schema)"}`;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const SKIP_HEADERS = new Set(["user-agent", "accept-encoding", "accept", "connection", "content-length", "x-schemathesis-testcaseid"]);

/**
 * A curl line that sends the same request to `npm start`'s ports. A body longer than a line, or
 * not UTF-8, is written next to the report and sent with --data-binary @file.
 */
export async function curlOf(ex: Exchange, bodyDir: string, n: number): Promise<string> {
  const parts = ["curl", "-sS", "-i", "-X", ex.method];
  for (const [k, v] of Object.entries(ex.headers)) {
    if (SKIP_HEADERS.has(k.toLowerCase())) continue;
    parts.push("-H", shellQuote(`${k}: ${v}`));
  }
  if (ex.body && ex.body.length > 0) {
    const text = ex.body.toString("utf8");
    if (ex.body.length <= 300 && Buffer.from(text, "utf8").equals(ex.body) && !/[\0\r\n]/.test(text)) {
      parts.push("--data-binary", shellQuote(text));
    } else {
      await fs.mkdir(bodyDir, { recursive: true });
      const file = path.join(bodyDir, `body-${n}.bin`);
      await fs.writeFile(file, ex.body);
      parts.push("--data-binary", `@${file}`);
    }
  }
  const target =
    ex.target.length > 400
      ? `${ex.target.slice(0, 120)}…(${ex.target.length} characters; the full request is in the report's HAR/summary.json)`
      : ex.target;
  parts.push(shellQuote(`${DEFAULT_URLS[ex.service]}${target}`));
  return parts.join(" ");
}
