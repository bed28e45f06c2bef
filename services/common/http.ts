/**
 * What every service's HTTP server has in common: `/health`, `/ready`, `/metrics`, `/openapi.json`
 * and `/docs`; strict UTF-8 JSON bodies with a size limit; and one error shape,
 * `{"error": {"code", "message"}}`, whatever went wrong (validation, size, our own errors, and
 * what Node's HTTP parser refuses before any route runs: headers too large, a bad Content-Length).
 * Every request passes the access checks first (access.ts); bodies in gzip, deflate or br are
 * decoded as they arrive (body-encoding.ts).
 * Building the app is separate from listening, so tests use `app.inject()` without a socket.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Type } from "@sinclair/typebox";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { Ajv } from "ajv";
import { createAccessPolicy, ruleFor, type AccessSettings } from "./access.ts";
import { decodedBody } from "./body-encoding.ts";
import { TglensError, isTglensError, type ErrorCode } from "./errors.ts";
import { registerSecret, type Logger } from "./logger.ts";

export const ErrorResponse = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: "ErrorResponse", description: "Every error: a stable code (see the error codes in docs/api.md) and a message" },
);

export interface ReadinessCheck {
  name: string;
  /** true when ready; false or a string (the reason) when not. */
  check: () => Promise<boolean | string>;
}

export interface HttpAppOptions {
  service: string;
  version: string;
  description: string;
  log: Logger;
  bodyLimit: number;
  readiness?: ReadinessCheck[];
  /** Tokens and allowed Host names (config.access); without them: no tokens, loopback names only. */
  access?: AccessSettings | undefined;
}

export interface HttpApp {
  app: FastifyInstance;
  metrics: Registry;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "TGLENS_PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "TGLENS_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "TGLENS_BAD_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "TGLENS_BAD_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "TGLENS_BAD_REQUEST",
};

/** The code of any other 4xx an error carries (a client that aborted its upload, a bad URL). */
const STATUS_CODE_NAMES: Record<number, ErrorCode> = {
  400: "TGLENS_BAD_REQUEST",
  401: "TGLENS_UNAUTHORIZED",
  403: "TGLENS_FORBIDDEN",
  404: "TGLENS_NOT_FOUND",
  408: "TGLENS_TIMEOUT",
  413: "TGLENS_PAYLOAD_TOO_LARGE",
  415: "TGLENS_UNSUPPORTED_MEDIA_TYPE",
  429: "TGLENS_BUSY",
  431: "TGLENS_HEADERS_TOO_LARGE",
};

/** What to answer when Node's HTTP parser refuses a request before any route sees it. */
export function clientErrorAnswer(err: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        code: "TGLENS_HEADERS_TOO_LARGE",
        message: "the request's URL and headers are too long (a search query goes in the URL: keep it under a few thousand characters)",
      };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { code: "TGLENS_TIMEOUT", message: "the request did not arrive in time" };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return { code: "TGLENS_BAD_REQUEST", message: "the request's Content-Length is invalid" };
    default:
      return { code: "TGLENS_BAD_REQUEST", message: `the request is not valid HTTP/1.1 (${err.code ?? "parse error"})` };
  }
}

/** Fastify's clientErrorHandler: the answer goes straight to the socket, in the one error shape. */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const { code, message } = clientErrorAnswer(err);
  const status = new TglensError(code, "").status;
  const body = JSON.stringify(errorBody(code, message));
  // Not in the middle of another answer on this connection (Node's own default checks the same).
  const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !busy) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Decodes a body as strict UTF-8 JSON: bad bytes are an error, never silently replaced. */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new TglensError("TGLENS_BAD_UTF8", "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new TglensError("TGLENS_BAD_JSON", "request body is empty; send a JSON document");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TglensError("TGLENS_BAD_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A body validator that never coerces. The app coerces types so that query strings and path
 * parameters ("10") meet integer schemas, but in a JSON body coercion would turn a null in a
 * string-or-null field into "" (ajv tries the string branch of the union first). Routes whose
 * body has such fields use this instead: `validatorCompiler: strictBodyValidator`.
 */
const strictAjv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, strict: false });
export const strictBodyValidator = ({ schema }: { schema: object }) => strictAjv.compile(schema);

/**
 * A validator that lets everything through: for routes whose schemas document what another part
 * checks (a body read as a stream by the route itself, a gateway route forwarding to the service
 * that validates). `validatorCompiler: documentedOnly` keeps the schema in /openapi.json.
 */
export const documentedOnly = () => () => true;

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function createHttpApp(opts: HttpAppOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: opts.log,
    disableRequestLogging: true,
    bodyLimit: opts.bodyLimit,
    ajv: { customOptions: { allErrors: false, coerceTypes: true, removeAdditional: false } },
    // A request without a Host header reaches the access check, which refuses it in our format.
    http: { requireHostHeader: false },
    clientErrorHandler: onClientError,
    frameworkErrors: (err, _req, reply) => {
      const code = STATUS_CODE_NAMES[err.statusCode ?? 400] ?? "TGLENS_BAD_REQUEST";
      (reply as FastifyReply).status(new TglensError(code, "").status).send(errorBody(code, err.message));
    },
  }) as unknown as FastifyInstance;
  const access = createAccessPolicy(opts.access);
  registerSecret(opts.access?.adminToken);
  registerSecret(opts.access?.readToken);
  // First of all hooks: a refused request is answered before its body is read.
  app.addHook("onRequest", async (req, reply) => {
    try {
      access.check(req, ruleFor(req.method, req.routeOptions.url, req.routeOptions.config?.access));
    } catch (err) {
      if (isTglensError(err) && err.code === "TGLENS_UNAUTHORIZED") reply.header("www-authenticate", 'Bearer realm="tglens"');
      throw err;
    }
  });
  app.addHook("preParsing", async (req, _reply, payload) =>
    BODY_METHODS.has(req.method) ? decodedBody(req.headers["content-encoding"], payload, req.routeOptions.bodyLimit ?? opts.bodyLimit) : payload,
  );
  const metrics = new Registry();
  metrics.setDefaultLabels({ service: opts.service });
  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({
    name: "tglens_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"],
    registers: [metrics],
  });
  const latency = new Histogram({
    name: "tglens_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [metrics],
  });

  app.addSchema(ErrorResponse);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, async (_req: unknown, body: Buffer) => parseJsonBody(body));

  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  });

  app.setErrorHandler((err: FastifyError | TglensError, req, reply) => {
    if (isTglensError(err)) {
      // A named refusal (Telegram not configured, a dependency down) is expected: a warning with
      // its code, no stack. Only an internal error is a bug worth a stack trace.
      if (err.code === "TGLENS_INTERNAL") req.log.error({ err }, err.message);
      else if (err.status >= 500) req.log.warn({ code: err.code, route: req.routeOptions.url }, err.message);
      // A refusal that says when to come back (TGLENS_BUSY) says it in the standard header too.
      const retryAfter = err.details?.retryAfterSeconds;
      if (typeof retryAfter === "number") reply.header("retry-after", String(Math.ceil(retryAfter)));
      return reply.status(err.status).send(errorBody(err.code, err.message));
    }
    if (err.validation) {
      const first = err.validation[0];
      const field = first ? `${err.validationContext ?? "request"}${first.instancePath.replaceAll("/", ".")}` : (err.validationContext ?? "request");
      const what =
        first?.params && "missingProperty" in first.params
          ? `${field}.${String(first.params.missingProperty)} is required`
          : `${field} ${first?.message ?? "is invalid"}`;
      return reply.status(400).send(errorBody("TGLENS_BAD_REQUEST", what));
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) {
      const status = new TglensError(mapped, "").status;
      return reply.status(status).send(errorBody(mapped, err.message));
    }
    const byStatus =
      err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500
        ? (STATUS_CODE_NAMES[err.statusCode] ?? "TGLENS_BAD_REQUEST")
        : undefined;
    if (byStatus) return reply.status(new TglensError(byStatus, "").status).send(errorBody(byStatus, err.message));
    req.log.error({ err }, "unhandled error");
    return reply.status(500).send(errorBody("TGLENS_INTERNAL", "internal error; see the service log"));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`));
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: `tglens ${opts.service}`, version: opts.version, description: opts.description },
      // With tokens, every route but /health and /ready needs one (docs/api.md, "Access").
      ...(access.tokensRequired
        ? {
            components: {
              securitySchemes: {
                bearer: { type: "http", scheme: "bearer", description: "TGLENS_API_TOKEN (admin), or TGLENS_API_READ_TOKEN for GET routes" },
              },
            },
            security: [{ bearer: [] }],
          }
        : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/health",
    {
      config: { access: "open" },
      schema: {
        security: [],
        summary: "The process is alive",
        tags: ["ops"],
        response: { 200: Type.Object({ status: Type.Literal("ok"), service: Type.String(), uptime_s: Type.Number() }) },
      },
    },
    async () => ({ status: "ok" as const, service: opts.service, uptime_s: Math.round(process.uptime()) }),
  );

  app.get(
    "/ready",
    {
      config: { access: "open" },
      schema: {
        security: [],
        summary: "Every dependency of this service answers",
        tags: ["ops"],
        response: {
          200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }),
          503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }),
        },
      },
    },
    async (_req, reply) => {
      const checks: Record<string, string> = {};
      let ready = true;
      for (const c of opts.readiness ?? []) {
        let result: boolean | string;
        try {
          result = await c.check();
        } catch (err) {
          result = (err as Error).message;
        }
        checks[c.name] = result === true ? "ok" : result === false ? "not ready" : result;
        if (result !== true) ready = false;
      }
      return reply.status(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
    },
  );

  app.get("/metrics", { schema: { summary: "Prometheus metrics", tags: ["ops"] } }, async (_req, reply) => {
    reply.header("content-type", metrics.contentType);
    return metrics.metrics();
  });

  return { app, metrics };
}
