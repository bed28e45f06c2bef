/**
 * The model on a worker thread gives exactly the vectors of the model on the calling thread, keeps
 * the event loop free while it embeds, answers a query ahead of bulk work, and fails cleanly.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { resolveModelDir } from "../../../services/embedder/model-files.ts";
import { loadEmbeddingModelInWorker } from "../../../services/embedder/model-worker.ts";
import { loadOnnxEmbeddingModel, type EmbeddingModel } from "../../../services/embedder/model.ts";
import { testDir } from "../../helpers/temp.ts";

const TEXTS = ["where did we decide on the venue", "Привет, как дела?", "the wifi driver keeps dropping", "🎉", "a".repeat(3000)];

describe("embedding model on a worker thread", { timeout: 120_000 }, () => {
  let dir: string;
  let worker: EmbeddingModel;

  before(async () => {
    dir = await resolveModelDir({ cacheDir: path.resolve(".cache/models"), allowRemote: false, variant: "fp32" });
    worker = await loadEmbeddingModelInWorker({ dir, variant: "fp32", threads: 1 });
  });
  after(() => worker?.close());

  it("gives the same vectors as the model on this thread", async () => {
    const direct = await loadOnnxEmbeddingModel({ dir, variant: "fp32", threads: 1 });
    const [a, b] = [await direct.embed(TEXTS), await worker.embed(TEXTS)];
    await direct.close();
    assert.equal(worker.dim, 384);
    assert.equal(worker.name, direct.name);
    assert.equal(b.length, TEXTS.length);
    b.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(a[i]!), `text ${i}`));
    assert.deepEqual(await worker.embed([]), []);
  });

  it("leaves the event loop free while it embeds", async () => {
    const many = Array.from({ length: 512 }, (_, i) => `message number ${i} about the party venue and the music`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    await worker.embed(many);
    clearInterval(timer);
    const ms = Date.now() - t0;
    // On the calling thread the timer could not fire at all during the batch.
    assert.ok(ticks >= Math.floor(ms / 10 / 4), `${ticks} ticks in ${ms} ms`);
  });

  it("answers a query sent during a large bulk request first, with the vector it has alone", async () => {
    const bulkTexts = Array.from({ length: 1500 }, (_, i) => `bulk message ${i}: the wifi driver drops after the kernel update, again`);
    const queryText = "where did we decide on the venue";
    const [alone] = await worker.embed([queryText], { priority: "query" });
    const order: string[] = [];
    const bulk = worker.embed(bulkTexts).then((v) => (order.push("bulk"), v));
    await new Promise((r) => setTimeout(r, 50));
    const query = worker.embed([queryText], { priority: "query" }).then((v) => (order.push("query"), v));
    const [bulkVectors, [during]] = await Promise.all([bulk, query]);
    assert.deepEqual(order, ["query", "bulk"], "the query did not wait for the bulk request");
    assert.equal(bulkVectors.length, bulkTexts.length);
    assert.deepEqual(Array.from(during!), Array.from(alone!), "the query's vector does not depend on the bulk work beside it");
  });

  it("fails to load a model that is not there, with its error, and refuses work after close", async (t) => {
    const empty = testDir(t, "no-model");
    await assert.rejects(
      loadEmbeddingModelInWorker({ dir: empty, variant: "fp32" }),
      (err: Error & { code?: string }) => typeof err.code === "string" && err.code.startsWith("TGLENS_"),
    );
    const m = await loadEmbeddingModelInWorker({ dir, variant: "fp32", threads: 1 });
    await m.close();
    await assert.rejects(m.embed(["x"]));
  });
});
