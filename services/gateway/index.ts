/**
 * The gateway (:8000, the service people start as `telegram-bot`): the one address people, the
 * CLI and the web app talk to. It composes its parts on one HTTP app: api/ forwards `/api/*` to
 * the service that owns the answer — search and chats to storage, imports and jobs to the scraper
 * — keeping their status codes and bodies; bot/ runs the Telegram bot when TELEGRAM_BOT_TOKEN is
 * set, on the same APIs; web/ serves the web app at `/`, which calls the same /api. Forgetting a chat is the
 * gateway's own work (forget.ts): it asks every service that keeps chat data on control-topic and
 * reports their confirmations, so it has a bus. The caller's rights are checked here
 * (common/access.ts); the services behind are then called with the gateway's admin token.
 */
import type { Bus } from "../common/bus.ts";
import type { Config, ServiceName } from "../common/config.ts";
import { createHttpApp } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import { registerApiRoutes } from "./api/routes.ts";
import type { BotBackend } from "./bot/backend.ts";
import { attachTelegramBot, WEBHOOK_PATH } from "./bot/attach.ts";
import { createForgetCoordinator, forgetEverywhere } from "./forget.ts";
import { registerWebApp } from "./web/plugin.ts";

export interface GatewayDeps {
  bus: Bus;
  log: Logger;
  config: Pick<Config, "urls" | "maxBodyBytes" | "maxUploadBytes" | "telegram"> & Partial<Pick<Config, "access">>;
  /** What the bot calls (default: the services' HTTP APIs, and the gateway's own forget); tests may pass another. */
  botBackend?: BotBackend;
  /** How long each step of a forget waits for the services' answers (default 30 s); tests shorten it. */
  forgetWaitMs?: number;
}

export async function createGateway(deps: GatewayDeps): Promise<Service> {
  const { bus, log, config } = deps;
  const upstreams: ServiceName[] = ["scraper", "preprocessor", "embedder", "storage"];
  const { app } = await createHttpApp({
    service: "telegram-bot",
    version: TGLENS_VERSION,
    description:
      "The tglens gateway: search, chats and imports in one place. Each /api route forwards to the same route of the service " +
      "that owns it (storage or the scraper), with that route's parameters, body and answers.",
    log,
    bodyLimit: config.maxBodyBytes,
    access: config.access,
    readiness: [
      { name: "bus", check: () => bus.ready() },
      ...upstreams.map((name) => ({
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
    ],
  });

  // Telegram calls the webhook without an API token: the route checks Telegram's own secret.
  app.addHook("onRoute", (route) => {
    if (route.url === WEBHOOK_PATH) route.config = { ...route.config, access: "public" };
  });
  const token = config.access?.adminToken;
  const coordinator = createForgetCoordinator({ bus, log, ...(deps.forgetWaitMs ? { waitMs: deps.forgetWaitMs } : {}) });
  const forget = (chatId: string) => forgetEverywhere({ coordinator, storageUrl: config.urls.storage, token }, chatId);
  await registerApiRoutes(app, { urls: config.urls, token, maxUploadBytes: config.maxUploadBytes, forget });
  await registerWebApp(app, { log });
  const bot = attachTelegramBot(app, { config, log, forget, ...(deps.botBackend ? { backend: deps.botBackend } : {}) });

  const service = busService(
    "telegram-bot",
    app,
    async () => {
      const subscription = await coordinator.follow();
      await bot.start();
      return [subscription];
    },
    () => bot.stop(),
  );
  return {
    ...service,
    // Forgets still waiting end now (what has not answered is pending), so the subscription can close.
    async stop() {
      coordinator.close();
      await service.stop();
    },
  };
}
