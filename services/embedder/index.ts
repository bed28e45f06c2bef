/**
 * The embedder service: all-MiniLM-L6-v2 vectors over HTTP (`POST /embed`) and for embed-topic,
 * which it consumes in large batches (the model sorts each batch by length, so padding is small).
 * A search's query comes as `POST /embed` with `priority: "query"` and goes ahead of every bulk
 * batch (the model's lanes, lanes.ts). Bulk HTTP work is bounded twice: per request (texts ×
 * length, 413) and in all (what is queued, 429 with Retry-After), so no client can queue more than
 * the model can work off.
 */
import { Type } from "@sinclair/typebox";
import { Counter, Gauge, Histogram } from "prom-client";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { TglensError } from "../common/errors.ts";
import { createHttpApp } from "../common/http.ts";
import { reportMessages } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import { EMBEDDING_DIM, type EmbeddedMessage } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import type { EmbeddingModel, Priority } from "./model.ts";

export const MAX_TEXTS_PER_REQUEST = 1024;
export const MAX_TEXT_CHARS = 65_536;

export interface EmbedLimits {
  /** Characters (all texts together) one request may send: 413 beyond. */
  maxRequestChars: number;
  /** Characters of bulk HTTP work queued or under way at once: 429 beyond. */
  maxQueuedChars: number;
  /** Texts one query-lane request may send: 413 beyond (the lane is for a search's text). */
  maxQueryTexts: number;
  /** Query-lane requests queued or under way at once: 429 beyond. */
  maxQueuedQueries: number;
}

/**
 * A request of maxRequestChars is a few thousand chat messages, seconds of model work on 2 cores;
 * the queue holds four such requests. Bus batches are not counted: the bus has its own backpressure.
 */
export const DEFAULT_EMBED_LIMITS: Readonly<EmbedLimits> = Object.freeze({
  maxRequestChars: 131_072,
  maxQueuedChars: 4 * 131_072,
  maxQueryTexts: 16,
  maxQueuedQueries: 256,
});
/** Bounds of the Retry-After hint, seconds. */
const RETRY_AFTER_MIN_S = 1;
const RETRY_AFTER_MAX_S = 60;

const EmbedBody = Type.Object(
  {
    texts: Type.Array(Type.String({ maxLength: MAX_TEXT_CHARS }), { minItems: 1, maxItems: MAX_TEXTS_PER_REQUEST }),
    priority: Type.Optional(
      Type.Union([Type.Literal("query"), Type.Literal("bulk")], {
        description: `"query" (a search's text: goes ahead of all bulk work, at most a few texts) or "bulk" (the default)`,
      }),
    ),
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
  config: Pick<Config, "maxBodyBytes" | "embedBatch"> & Partial<Pick<Config, "access">>;
  /** DEFAULT_EMBED_LIMITS unless given (tests use small ones). */
  limits?: Partial<EmbedLimits>;
}

/** Float32 values printed with 9 significant digits round-trip exactly and keep payloads small. */
export function vectorToJson(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = Number(vector[i]!.toPrecision(9));
  return out;
}

export async function createEmbedder(deps: EmbedderDeps): Promise<Service> {
  const { bus, model, log } = deps;
  const limits: EmbedLimits = { ...DEFAULT_EMBED_LIMITS, ...deps.limits };
  const { app, metrics } = await createHttpApp({
    service: "embedder",
    version: TGLENS_VERSION,
    description: "Embeds texts with sentence-transformers/all-MiniLM-L6-v2 (384-d, mean pooling, L2-normalised).",
    log,
    bodyLimit: deps.config.maxBodyBytes,
    access: deps.config.access,
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

  const queuedChars = new Gauge({
    name: "tglens_embed_queued_chars",
    help: "Characters of bulk POST /embed work queued or under way",
    registers: [metrics],
  });
  const refused = new Counter({
    name: "tglens_embed_refused_total",
    help: "POST /embed requests refused by the request cap (413) or a full queue (429)",
    labelNames: ["status"],
    registers: [metrics],
  });

  // What HTTP work is queued, and how fast bulk requests have been worked off (characters per
  // second from arrival to answer, smoothed): the Retry-After hint.
  const queued = { chars: 0, queries: 0 };
  let charsPerSecond: number | undefined;
  const retryAfterSeconds = () =>
    charsPerSecond === undefined
      ? RETRY_AFTER_MIN_S
      : Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, Math.ceil(queued.chars / charsPerSecond)));
  const answer = (vectors: Float32Array[]) => ({ model: model.name, dim: model.dim, vectors: vectors.map(vectorToJson) });

  app.post(
    "/embed",
    {
      schema: {
        summary: "Embed texts",
        description:
          `At most ${limits.maxRequestChars} characters in all per request (413 beyond). Bulk requests queue up to ` +
          `${limits.maxQueuedChars} characters; beyond, 429 TGLENS_BUSY with Retry-After. ` +
          `\`priority: "query"\` (a search's text, at most ${limits.maxQueryTexts} texts) goes ahead of all bulk work.`,
        tags: ["embedder"],
        body: EmbedBody,
        response: { 200: EmbedResponse, 400: { $ref: "ErrorResponse#" }, 413: { $ref: "ErrorResponse#" }, 429: { $ref: "ErrorResponse#" } },
      },
    },
    async (req, reply) => {
      const { texts, priority = "bulk" } = req.body as { texts: string[]; priority?: Priority };
      const busy = (why: string) => {
        refused.inc({ status: "429" });
        const seconds = retryAfterSeconds();
        reply.header("retry-after", String(seconds));
        return new TglensError("TGLENS_BUSY", `the embedder is busy: ${why}; retry after ${seconds} s`);
      };
      const tooLarge = (why: string) => {
        refused.inc({ status: "413" });
        return new TglensError("TGLENS_PAYLOAD_TOO_LARGE", why);
      };
      let chars = 0;
      for (const t of texts) chars += t.length;
      if (chars > limits.maxRequestChars) {
        throw tooLarge(
          `body.texts has ${chars} characters in all; one request takes at most ${limits.maxRequestChars}: send the texts in several requests`,
        );
      }
      if (priority === "query") {
        if (texts.length > limits.maxQueryTexts) {
          throw tooLarge(
            `body.texts has ${texts.length} texts; a query request takes at most ${limits.maxQueryTexts} (send bulk work without priority "query")`,
          );
        }
        if (queued.queries >= limits.maxQueuedQueries)
          throw busy(`${queued.queries} query requests are waiting (at most ${limits.maxQueuedQueries})`);
        queued.queries++;
        try {
          return answer(await model.embed(texts, { priority }));
        } finally {
          queued.queries--;
        }
      }
      if (queued.chars + chars > limits.maxQueuedChars) {
        throw busy(
          `${queued.chars} characters of texts are waiting to be embedded; ${chars} more would pass the ${limits.maxQueuedChars} the embedder queues`,
        );
      }
      queued.chars += chars;
      queuedChars.set(queued.chars);
      const started = performance.now();
      try {
        const vectors = await model.embed(texts, { priority });
        const rate = chars / Math.max((performance.now() - started) / 1000, 1e-3);
        charsPerSecond = charsPerSecond === undefined ? rate : 0.7 * charsPerSecond + 0.3 * rate;
        return answer(vectors);
      } finally {
        queued.chars -= chars;
        queuedChars.set(queued.chars);
      }
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
    // Reported before the vectors move on, so the job never sees them stored before embedded.
    await reportMessages(bus, { embedded: messages });
    await bus.publishMany("store-topic", out);
    embedded.inc(out.length);
  }

  return busService("embedder", app, async () => [
    await bus.subscribe("embed-topic", "embedder", handle, { batchSize: deps.config.embedBatch, maxWaitMs: 25 }),
  ]);
}
