import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../services/common/memory-bus.ts";
import type { Service } from "../../../services/common/service.ts";
import { createEmbedder, vectorToJson } from "../../../services/embedder/index.ts";
import { resolveModelDir } from "../../../services/embedder/model-files.ts";
import { loadOnnxEmbeddingModel, type EmbeddingModel } from "../../../services/embedder/model.ts";
import { cleanRecord } from "../../helpers/records.ts";
import { collector } from "../common/bus-contract.ts";

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));

describe("embedder service", () => {
  let bus: MemoryBus;
  let model: EmbeddingModel;
  let service: Service;
  before(async () => {
    bus = createMemoryBus();
    const dir = await resolveModelDir({ cacheDir: path.resolve(".cache/models"), allowRemote: false, variant: "fp32" });
    model = await loadOnnxEmbeddingModel({ dir, variant: "fp32" });
    service = await createEmbedder({ bus, model, log: createLogger({ level: "silent" }), config: { maxBodyBytes: 1 << 20, embedBatch: 64 } });
    await service.start();
  });
  after(async () => {
    await service.stop();
    await model.close();
    await bus.close();
  });

  it("embeds texts over HTTP: 384-d unit vectors, similar texts close", async () => {
    const res = await service.app.inject({
      method: "POST",
      url: "/embed",
      payload: { texts: ["The cat sits on the mat", "A kitten is sitting on a rug", "Quarterly tax report due"] },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.model, "sentence-transformers/all-MiniLM-L6-v2");
    assert.equal(body.dim, 384);
    assert.equal(body.vectors.length, 3);
    for (const v of body.vectors) {
      assert.equal(v.length, 384);
      assert.ok(Math.abs(norm(v) - 1) < 1e-4);
    }
    assert.ok(cosine(body.vectors[0], body.vectors[1]) > cosine(body.vectors[0], body.vectors[2]) + 0.3);
  });

  for (const [what, payload] of [
    ["no texts", {}],
    ["an empty list", { texts: [] }],
    ["texts that are not a list", { texts: "hello" }],
    ["an unknown field", { texts: ["a"], extra: 1 }],
  ] as const) {
    it(`refuses ${what} with 400 naming the field`, async () => {
      const res = await service.app.inject({ method: "POST", url: "/embed", payload });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, "TGLENS_BAD_REQUEST");
      assert.match(res.json().error.message, /texts|extra|additional/);
    });
  }

  it("embeds embed-topic messages in batches onto store-topic, vectors equal to direct embedding", async () => {
    const store = collector<"store-topic">(40);
    await bus.subscribe("store-topic", "test-store", store.handler);
    const items = Array.from({ length: 40 }, (_, i) => {
      const message = cleanRecord("5", i, { text: `message number ${i} ${"about the weather ".repeat(i % 5)}` });
      return { key: "5", message };
    });
    await bus.publishMany("embed-topic", items);
    await store.done;
    assert.deepEqual(
      store.seen.map((d) => d.message.message_id),
      [...Array(40).keys()],
    );
    const [direct] = await model.embed([items[7]!.message.clean_text]);
    const viaBus = store.seen[7]!.message.vector;
    assert.ok(cosine(vectorToJson(direct!), viaBus) > 0.99999);
  });
});

describe("embedder service limits", () => {
  let bus: MemoryBus;
  let model: EmbeddingModel;
  let service: Service;
  const limits = { maxRequestChars: 20_000, maxQueuedChars: 30_000, maxQueryTexts: 2, maxQueuedQueries: 4 };
  const bulkBody = (n: number) => ({ texts: Array.from({ length: n }, (_, i) => `text ${i} `.padEnd(100, "x")) });
  before(async () => {
    bus = createMemoryBus();
    const dir = await resolveModelDir({ cacheDir: path.resolve(".cache/models"), allowRemote: false, variant: "fp32" });
    model = await loadOnnxEmbeddingModel({ dir, variant: "fp32" });
    const config = { maxBodyBytes: 1 << 20, embedBatch: 64 };
    service = await createEmbedder({ bus, model, log: createLogger({ level: "silent" }), config, limits });
    await service.start();
  });
  after(async () => {
    await service.stop();
    await model.close();
    await bus.close();
  });
  const post = (payload: object) => service.app.inject({ method: "POST", url: "/embed", payload });

  it("refuses one request over the character cap with 413, and still embeds the next", async () => {
    const res = await post(bulkBody(201)); // 20,100 characters
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, "TGLENS_PAYLOAD_TOO_LARGE");
    assert.match(res.json().error.message, /20100 characters.*at most 20000/);
    const ok = await post(bulkBody(3));
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().vectors.length, 3);
  });

  it("refuses a query request with more texts than the query lane takes (413)", async () => {
    const res = await post({ texts: ["a", "b", "c"], priority: "query" });
    assert.equal(res.statusCode, 413);
    assert.match(res.json().error.message, /3 texts; a query request takes at most 2/);
  });

  it("answers 429 with Retry-After while the bulk queue is full, then takes the same request", async () => {
    const first = post(bulkBody(200)); // 20,000 characters, queued
    await new Promise((r) => setImmediate(r));
    const refused = await post(bulkBody(150)); // 15,000 more would pass 30,000
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, "TGLENS_BUSY");
    const retryAfter = Number(refused.headers["retry-after"]);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after ${refused.headers["retry-after"]}`);
    // A search's query is not held back by the full bulk queue.
    const query = await post({ texts: ["where is the venue"], priority: "query" });
    assert.equal(query.statusCode, 200);
    assert.equal((await first).statusCode, 200);
    const again = await post(bulkBody(150));
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().vectors.length, 150);
  });
});
