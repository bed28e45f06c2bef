/**
 * Puts the Telegram bot on the gateway when TELEGRAM_BOT_TOKEN is set: long polling by default, or
 * a webhook route (`POST /telegram/webhook`) when TELEGRAM_WEBHOOK_URL is set. Without a token the
 * gateway runs as before and says once which variable would turn the bot on.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Update } from "grammy/types";
import type { Config } from "../../common/config.ts";
import { errorBody } from "../../common/http.ts";
import type { Logger } from "../../common/logger.ts";
import { httpBackend, type BotBackend } from "./backend.ts";
import { createTelegramBot, type TelegramBot } from "./bot.ts";

export const WEBHOOK_PATH = "/telegram/webhook";

/** Equal secrets, compared in constant time whatever their lengths (digests have one length). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export interface AttachedBot {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function attachTelegramBot(
  app: FastifyInstance,
  deps: {
    config: Pick<Config, "telegram" | "urls"> & Partial<Pick<Config, "access">>;
    log: Logger;
    backend?: BotBackend;
    /** The gateway's forget, for the default backend. */
    forget?: BotBackend["forget"];
    progressIntervalMs?: number;
  },
): AttachedBot {
  const { telegram } = deps.config;
  const log = deps.log;
  if (!telegram.botToken) {
    return {
      async start() {
        log.info("Telegram bot off: set TELEGRAM_BOT_TOKEN (and TELEGRAM_ALLOWED_USER_IDS) to turn it on");
      },
      async stop() {},
    };
  }
  const bot: TelegramBot = createTelegramBot({
    token: telegram.botToken,
    apiRoot: telegram.botApiRoot,
    allowedUserIds: telegram.allowedUserIds,
    backend: deps.backend ?? httpBackend(deps.config.urls, deps.config.access?.adminToken, deps.forget),
    log,
    ...(deps.progressIntervalMs ? { progressIntervalMs: deps.progressIntervalMs } : {}),
  });
  const webhook = telegram.webhookUrl && telegram.webhookSecret ? { url: telegram.webhookUrl, secret: telegram.webhookSecret } : undefined;

  if (webhook) {
    app.post(
      WEBHOOK_PATH,
      {
        schema: {
          summary: "Telegram Bot API webhook (needs the X-Telegram-Bot-Api-Secret-Token header)",
          tags: ["telegram"],
          body: Type.Object({ update_id: Type.Integer() }, { additionalProperties: true }),
        },
      },
      async (req, reply) => {
        const header = req.headers["x-telegram-bot-api-secret-token"];
        if (!secretMatches(typeof header === "string" ? header : undefined, webhook.secret)) {
          log.warn({ ip: req.ip }, "webhook call without the right secret token refused");
          return reply.status(401).send(errorBody("TGLENS_UNAUTHORIZED", "missing or wrong X-Telegram-Bot-Api-Secret-Token"));
        }
        await bot.handleUpdate(req.body as Update);
        return { ok: true };
      },
    );
  }

  return {
    async start() {
      if (!webhook) return bot.startPolling();
      // Registering can fail while the Bot API is unreachable; updates then wait on Telegram's side.
      await bot
        .setWebhook(webhook.url, webhook.secret)
        .catch((err: unknown) => log.error({ err: { message: (err as Error).message } }, "could not register the Telegram webhook"));
    },
    stop: () => bot.stop(),
  };
}
