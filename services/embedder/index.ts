/**
 * The embedder service: all-MiniLM-L6-v2 vectors over HTTP (`POST /embed`) and for embed-topic,
 * which it consumes in large batches (the model sorts each batch by length, so padding is small).
 */
import { Type } from "@sinclair/typebox";
import { Counter, Histogram } from "prom-client";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { createHttpApp } from "../common/http.ts";
import { reportMessages } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import { EMBEDDING_DIM, type EmbeddedMessage } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import type { EmbeddingModel } from "./model.ts";

export const MAX_TEXTS_PER_REQUEST = 1024;
export const MAX_TEXT_CHARS = 65_536;

const EmbedBody = Type.Object(
  {
    texts: Type.Array(Type.String({ maxLength: MAX_TEXT_CHARS }), { minItems: 1, maxItems: MAX_TEXTS_PER_REQUEST }),
  },
  { additionalProperties: false },
);

const EmbedResponse = Type.Object({
  model: Type.String(),
  dim: Type.Integer(),
  vectors: Type.Array(Type.Array(Type.Number())),
});

export interface EmbedderDeps {
  bus: Bus;
  model: EmbeddingModel;
  log: Logger;
  config: Pick<Config, "maxBodyBytes" | "embedBatch">;
}

/** Float32 values printed with 9 significant digits round-trip exactly and keep payloads small. */
export function vectorToJson(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = Number(vector[i]!.toPrecision(9));
  return out;
}

export async function createEmbedder(deps: EmbedderDeps): Promise<Service> {
  const { bus, model, log } = deps;
  const { app, metrics } = await createHttpApp({
    service: "embedder",
    version: TGLENS_VERSION,
    description: "Embeds texts with sentence-transformers/all-MiniLM-L6-v2 (384-d, mean pooling, L2-normalised).",
    log,
    bodyLimit: deps.config.maxBodyBytes,
    readiness: [{ name: "bus", check: () => bus.ready() }],
  });
  const embedded = new Counter({
    name: "tglens_embedded_messages_total",
    help: "Messages embedded from embed-topic",
    registers: [metrics],
  });
  // Batch sizes show whether the bus feeds the model well: small batches cost more per message.
  // Time inside the model per batch: beside the import's wall time it shows how busy the model was.
  const batchSeconds = new Histogram({
    name: "tglens_embed_batch_seconds",
    help: "Seconds the model took per batch from embed-topic",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [metrics],
  });
  const batchSizes = new Histogram({
    name: "tglens_embed_batch_messages",
    help: "Messages per batch the embedder took from embed-topic",
    buckets: [1, 8, 32, 64, 128, 256, 512, 1024],
    registers: [metrics],
  });

  app.post(
    "/embed",
    {
      schema: {
        summary: "Embed texts",
        tags: ["embedder"],
        body: EmbedBody,
        response: { 200: EmbedResponse, 400: { $ref: "ErrorResponse#" } },
      },
    },
    async (req) => {
      const { texts } = req.body as { texts: string[] };
      const vectors = await model.embed(texts);
      return { model: model.name, dim: model.dim, vectors: vectors.map(vectorToJson) };
    },
  );

  async function handle(batch: Delivery<"embed-topic">[]): Promise<void> {
    const messages = batch.map((d) => d.message);
    batchSizes.observe(messages.length);
    const stopTimer = batchSeconds.startTimer();
    const vectors = await model.embed(messages.map((m) => m.clean_text));
    stopTimer();
    const out = messages.map((m, i) => {
      const vector = vectors[i]!;
      if (vector.length !== EMBEDDING_DIM) throw new Error(`model returned ${vector.length} dimensions`);
      return { key: m.chat.id, message: { ...m, vector: vectorToJson(vector) } satisfies EmbeddedMessage };
    });
    await bus.publishMany("store-topic", out);
    embedded.inc(out.length);
    await reportMessages(bus, { embedded: messages });
  }

  return busService("embedder", app, async () => [
    await bus.subscribe("embed-topic", "embedder", handle, { batchSize: deps.config.embedBatch, maxWaitMs: 25 }),
  ]);
}
