/**
 * The gateway (:8000, the service people start as `telegram-bot`): the one address people, the
 * CLI and the web app talk to. It composes its parts on one HTTP app: api/ forwards `/api/*` to
 * the service that owns the answer — search and chats to storage, imports and jobs to the scraper
 * — keeping their status codes and bodies; bot/ runs the Telegram bot when TELEGRAM_BOT_TOKEN is
 * set, on the same APIs (a web app, web/, would join them here). The caller's rights are checked
 * here (common/access.ts); the services behind are then called with the gateway's admin token.
 */
import type { Config, ServiceName } from "../common/config.ts";
import { createHttpApp } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { TGLENS_VERSION, type Service } from "../common/service.ts";
import { registerApiRoutes } from "./api/routes.ts";
import type { BotBackend } from "./bot/backend.ts";
import { attachTelegramBot, WEBHOOK_PATH } from "./bot/attach.ts";

export interface GatewayDeps {
  log: Logger;
  config: Pick<Config, "urls" | "maxBodyBytes" | "maxUploadBytes" | "telegram"> & Partial<Pick<Config, "access">>;
  /** What the bot calls (default: the services' HTTP APIs); tests may pass another. */
  botBackend?: BotBackend;
}

export async function createGateway(deps: GatewayDeps): Promise<Service> {
  const { log, config } = deps;
  const upstreams: ServiceName[] = ["scraper", "preprocessor", "embedder", "storage"];
  const { app } = await createHttpApp({
    service: "telegram-bot",
    version: TGLENS_VERSION,
    description:
      "The tglens gateway: search, chats and imports in one place. Each /api route forwards to the same route of the service that owns it (storage or the scraper), with that route's parameters, body and answers.",
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

  // Telegram calls the webhook without an API token: the route checks Telegram's own secret.
  app.addHook("onRoute", (route) => {
    if (route.url === WEBHOOK_PATH) route.config = { ...route.config, access: "public" };
  });
  await registerApiRoutes(app, { urls: config.urls, token: config.access?.adminToken, maxUploadBytes: config.maxUploadBytes });
  const bot = attachTelegramBot(app, { config, log, ...(deps.botBackend ? { backend: deps.botBackend } : {}) });

  return {
    name: "telegram-bot",
    app,
    start: () => bot.start(),
    stop: () => bot.stop(),
  };
}
