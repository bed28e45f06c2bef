/**
 * The preprocessor service: cleans raw messages for embedding (URLs, emojis, special characters
 * out; letters of every script kept; NFKC; a language tag). The original text travels on for
 * display; only `clean_text` is embedded. Messages empty after cleaning are dropped and counted.
 * Cleaned records are kept per chat (preprocessed-log.ts); a forget on control-topic removes a
 * chat's file (common/forget.ts).
 */
import { Type } from "@sinclair/typebox";
import { Counter } from "prom-client";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { followForgets } from "../common/forget.ts";
import { createHttpApp } from "../common/http.ts";
import { reportMessages } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import type { CleanMessage, RawMessage } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import { preprocess } from "./clean.ts";
import { PreprocessedLog } from "./preprocessed-log.ts";

const PreprocessBody = Type.Object(
  { texts: Type.Array(Type.String({ maxLength: 65_536 }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);

const PreprocessResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      clean_text: Type.Union([Type.String(), Type.Null()], { description: "null when nothing is left after cleaning" }),
      lang: Type.String(),
    }),
  ),
});

export interface PreprocessorDeps {
  bus: Bus;
  log: Logger;
  config: Pick<Config, "maxBodyBytes" | "dataDir"> & Partial<Pick<Config, "access">>;
}

export function cleanMessage(raw: RawMessage): CleanMessage | null {
  const cleaned = preprocess(raw.text);
  return cleaned === null ? null : { ...raw, clean_text: cleaned.clean_text, lang: cleaned.lang };
}

/**
 * embed-topic is keyed by chat *and* message id, unlike the other topics (chat id): a chat's
 * messages then spread over all partitions, so every embedder in the group shares even a
 * one-chat import (keyed by chat, one chat sat on one partition and a second embedder idled).
 * Order still holds where it matters: all versions of one message (an edit) share a key, so they
 * reach storage in order.
 */
export function embedTopicKey(message: { chat: { id: string }; message_id: number }): string {
  return `${message.chat.id}:${message.message_id}`;
}

export async function createPreprocessor(deps: PreprocessorDeps): Promise<Service> {
  const { bus, log } = deps;
  const { app, metrics } = await createHttpApp({
    service: "preprocessor",
    version: TGLENS_VERSION,
    description: "Cleans message text for embedding and tags its language.",
    log,
    bodyLimit: deps.config.maxBodyBytes,
    access: deps.config.access,
    readiness: [{ name: "bus", check: () => bus.ready() }],
  });
  const files = new PreprocessedLog(deps.config.dataDir);
  const handled = new Counter({
    name: "tglens_preprocessed_messages_total",
    help: "Messages handled from preprocess-topic (passed on or dropped)",
    registers: [metrics],
  });

  app.post(
    "/preprocess",
    {
      schema: {
        summary: "Clean texts and detect their language",
        tags: ["preprocessor"],
        body: PreprocessBody,
        response: { 200: PreprocessResponse, 400: { $ref: "ErrorResponse#" } },
      },
    },
    async (req) => {
      const { texts } = req.body as { texts: string[] };
      return {
        results: texts.map((t) => {
          const cleaned = preprocess(t);
          return cleaned ?? { clean_text: null, lang: "und" };
        }),
      };
    },
  );

  async function handle(batch: Delivery<"preprocess-topic">[]): Promise<void> {
    const kept: CleanMessage[] = [];
    const dropped: RawMessage[] = [];
    for (const { message } of batch) {
      const clean = cleanMessage(message);
      if (clean) kept.push(clean);
      else dropped.push(message);
    }
    await files.append(kept);
    // Reported before the messages move on, so the job never sees them stored before cleaned.
    await reportMessages(bus, { cleaned: kept, dropped });
    await bus.publishMany(
      "embed-topic",
      kept.map((m) => ({ key: embedTopicKey(m), message: m })),
    );
    handled.inc(batch.length);
  }

  return busService(
    "preprocessor",
    app,
    async () => [
      await bus.subscribe("preprocess-topic", "preprocessor", handle, { batchSize: 500, maxWaitMs: 10 }),
      await followForgets({ bus, service: "preprocessor", log, forget: async (chatId) => ({ files: await files.forget(chatId) }) }),
    ],
    () => files.close(),
  );
}
