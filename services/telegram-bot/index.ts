/**
 * The gateway (:8000): the one address people and the CLI talk to. It forwards `/api/*` to the
 * service that owns the answer — search and chats to storage, imports and jobs to the scraper —
 * keeping their status codes and error bodies. The Telegram bot runs here too when
 * TELEGRAM_BOT_TOKEN is set (bot/attach.ts), on the same APIs. The caller's rights are checked
 * here (common/access.ts); the services behind are then called with the gateway's admin token.
 */
import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config, ServiceName } from "../common/config.ts";
import { TglensError } from "../common/errors.ts";
import { createHttpApp } from "../common/http.ts";
import { bearer } from "../common/http-client.ts";
import type { Logger } from "../common/logger.ts";
import { TGLENS_VERSION, type Service } from "../common/service.ts";
import type { BotBackend } from "./bot/backend.ts";
import { attachTelegramBot, WEBHOOK_PATH } from "./bot/attach.ts";

export interface GatewayDeps {
  log: Logger;
  config: Pick<Config, "urls" | "maxBodyBytes" | "maxUploadBytes" | "telegram"> & Partial<Pick<Config, "access">>;
  /** What the bot calls (default: the services' HTTP APIs); tests may pass another. */
  botBackend?: BotBackend;
}

const UPSTREAM_TIMEOUT_MS = 10 * 60_000;

async function forward(
  req: FastifyRequest,
  reply: FastifyReply,
  token: string | undefined,
  baseUrl: string,
  path: string,
  body?: Readable,
): Promise<FastifyReply> {
  const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
  let res: Response;
  try {
    res = await fetch(baseUrl + path + query, {
      method: req.method,
      headers: { ...bearer(token), ...(body ? { "content-type": req.headers["content-type"] ?? "application/json" } : {}) },
      body: body ? (Readable.toWeb(body) as ReadableStream) : undefined,
      duplex: body ? "half" : undefined,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    } as RequestInit);
  } catch (err) {
    throw new TglensError("TGLENS_UPSTREAM", `cannot reach ${baseUrl}: ${(err as Error).message}`, { cause: err });
  }
  reply.status(res.status);
  reply.header("content-type", res.headers.get("content-type") ?? "application/json");
  const retryAfter = res.headers.get("retry-after");
  if (retryAfter !== null) reply.header("retry-after", retryAfter);
  return reply.send(Buffer.from(await res.arrayBuffer()));
}

export async function createGateway(deps: GatewayDeps): Promise<Service> {
  const { log, config } = deps;
  const upstreams: ServiceName[] = ["scraper", "preprocessor", "embedder", "storage"];
  const { app } = await createHttpApp({
    service: "telegram-bot",
    version: TGLENS_VERSION,
    description: "The tglens gateway: search, chats and imports in one place. Each /api route forwards to the service that owns it; see that service's /docs for the full schema.",
    log,
    bodyLimit: config.maxBodyBytes,
    access: config.access,
    readiness: upstreams.map((name) => ({
      name,
      check: async () => {
        try {
          const res = await fetch(`${config.urls[name]}/health`, { signal: AbortSignal.timeout(2000) });
          return res.ok || `${name} answered ${res.status}`;
        } catch (err) {
          return `${name} unreachable: ${(err as Error).message}`;
        }
      },
    })),
  });

  const storage = config.urls.storage;
  const scraper = config.urls.scraper;
  const tags = ["api"];
  const token = config.access?.adminToken;
  // Telegram calls the webhook without an API token: the route checks Telegram's own secret.
  app.addHook("onRoute", (route) => {
    if (route.url === WEBHOOK_PATH) route.config = { ...route.config, access: "public" };
  });

  app.get("/api/search", { schema: { summary: "Search (see storage GET /search for parameters)", tags } }, (req, reply) =>
    forward(req, reply, token, storage, "/search"),
  );
  app.get("/api/chats", { schema: { summary: "Indexed chats", tags } }, (req, reply) => forward(req, reply, token, storage, "/chats"));
  app.get<{ Params: { id: string } }>("/api/chats/:id", { schema: { summary: "One chat", tags } }, (req, reply) =>
    forward(req, reply, token, storage, `/chats/${encodeURIComponent(req.params.id)}`),
  );
  app.get<{ Params: { id: string } }>(
    "/api/chats/:id/stats",
    { schema: { summary: "One chat's statistics: counts, dates, most active senders, messages per month", tags } },
    (req, reply) => forward(req, reply, token, storage, `/chats/${encodeURIComponent(req.params.id)}/stats`),
  );
  app.delete<{ Params: { id: string } }>("/api/chats/:id", { schema: { summary: "Forget a chat everywhere", tags } }, (req, reply) =>
    forward(req, reply, token, storage, `/chats/${encodeURIComponent(req.params.id)}`),
  );
  app.get<{ Params: { id: string } }>("/api/jobs/:id", { schema: { summary: "Job status and counters", tags } }, (req, reply) =>
    forward(req, reply, token, scraper, `/jobs/${encodeURIComponent(req.params.id)}`),
  );
  app.get("/api/jobs", { schema: { summary: "Recent jobs", tags } }, (req, reply) => forward(req, reply, token, scraper, "/jobs"));

  await app.register(async (scope) => {
    // Imports can be large: the body streams through to the scraper without being buffered here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", (_req, payload, done) => done(null, payload));
    scope.post(
      "/api/scrape",
      { bodyLimit: config.maxUploadBytes, schema: { summary: "Import an export (see scraper POST /scrape)", tags } },
      (req, reply) => {
        if (req.body === undefined || req.headers["content-length"] === "0") throw new TglensError("TGLENS_BAD_JSON", "the request has no body: send the export, or {\"export_path\"} or {\"chat\"}, as JSON");
        return forward(req, reply, token, scraper, "/scrape", req.body as Readable);
      },
    );
  });

  const bot = attachTelegramBot(app, { config, log, ...(deps.botBackend ? { backend: deps.botBackend } : {}) });

  return {
    name: "telegram-bot",
    app,
    start: () => bot.start(),
    stop: () => bot.stop(),
  };
}
