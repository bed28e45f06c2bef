/**
 * Faults in distributed mode, on a real Kafka broker this file starts (its own port,
 * KAFKA_TEST_FAULTS_PORT, default 19592, from empty state) and stops. The five services run as five
 * processes with the int8 model; the imports are small (FAULTS_TEST_MESSAGES, default 400, of
 * ../shared/data/ubuntu-irc-train.json, or the team-chat fixture replicated with new ids when that
 * file is absent).
 *
 * 1. Poison messages: as an import starts, two records are produced raw on preprocess-topic
 *    (KafkaBus.injectRaw, no publish-side validation) keyed like the import's chat, so they share
 *    its partition with the import's messages: one that does not match the RawMessage schema, and one that matches it but
 *    always fails in the preprocessor (a chat id that is not a decimal number, which the data
 *    files refuse). Both land in preprocess-topic.dlq with their origin (topic, partition, offset)
 *    and error; every message of the import is stored and searchable; every consumer group's lag
 *    returns to 0.
 * 2. The broker stopped in mid-import and started again a few seconds later: the import finishes
 *    with exactly the expected messages stored, none twice.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKafkaBus, type KafkaBus } from "../../services/common/kafka/index.ts";
import type { DeadLetter } from "../../services/common/schemas.ts";
import { preprocess } from "../../services/preprocessor/clean.ts";
import { flattenText } from "../../services/scraper/export-mapping.ts";
import { inspectKafka, type DeadLetterInspector } from "../helpers/bus-inspect.ts";
import {
  api,
  chatCount,
  consumerLag,
  corpusMessages,
  DistributedSystem,
  sleep,
  STAGE_GROUPS,
  TestBroker,
  until,
  waitDrained,
  writeExport,
} from "../helpers/distributed.ts";

const SIZE = Number(process.env.FAULTS_TEST_MESSAGES ?? 400);
const broker = new TestBroker(Number(process.env.KAFKA_TEST_FAULTS_PORT ?? 19592));

const messages = await corpusMessages(SIZE);
/** The messages the storage must end with, and their cleaned text. */
const kept = messages
  .filter((m) => m.type === "message")
  .map((m) => ({ id: m.id as number, clean: preprocess(flattenText(m.text) ?? "")?.clean_text }))
  .filter((m): m is { id: number; clean: string } => !!m.clean);
const EXPECTED = kept.length;

/** Waits until every group drained and the chat holds `EXPECTED` messages; then checks nothing more arrives. */
async function waitUntilStored(sys: DistributedSystem, chatId: number): Promise<number> {
  const ms = await waitDrained(sys.gateway, broker.brokers, chatId, EXPECTED, 90_000);
  await sleep(1_000);
  assert.equal(await chatCount(sys.gateway, chatId), EXPECTED, "exactly the expected messages, none lost, none twice");
  assert.deepEqual(await consumerLag(broker.brokers, STAGE_GROUPS), { preprocessor: 0, embedder: 0, storage: 0 });
  return ms;
}

/** No (chat, message) twice in search results. */
async function assertNoDuplicates(sys: DistributedSystem, chatId: number): Promise<void> {
  for (const q of ["how do I install ubuntu", "sound card driver not working", "thanks for the help", "kernel panic on boot"]) {
    for (const mode of ["semantic", "hybrid"]) {
      const { status, json } = await api(sys.gateway, "GET", `/api/search?${new URLSearchParams({ q, k: "100", chat: String(chatId), mode })}`);
      assert.equal(status, 200, JSON.stringify(json));
      const keys = json.results.map((r: any) => `${r.chat_id}/${r.message_id}`);
      assert.equal(new Set(keys).size, keys.length, `duplicates for "${q}" (${mode})`);
    }
  }
}

/** A sample of the import's messages, each found by searching for its own text. */
async function assertSearchable(sys: DistributedSystem, chatId: number): Promise<void> {
  const seen = new Map<string, number>();
  for (const m of kept) seen.set(m.clean, (seen.get(m.clean) ?? 0) + 1);
  const unique = kept.filter((m) => m.clean.length >= 30 && seen.get(m.clean) === 1);
  const step = Math.max(1, Math.floor(unique.length / 8));
  const sample = unique.filter((_, i) => i % step === 0).slice(0, 8);
  assert.ok(sample.length > 0);
  for (const m of sample) {
    const { status, json } = await api(
      sys.gateway,
      "GET",
      `/api/search?${new URLSearchParams({ q: m.clean, k: "10", chat: String(chatId), mode: "semantic" })}`,
    );
    assert.equal(status, 200, JSON.stringify(json));
    const ids = json.results.map((r: any) => String(r.message_id));
    assert.ok(ids.includes(String(m.id)), `message ${m.id} ("${m.clean}") not found by its own text: ${ids.join(", ")}`);
  }
}

async function startImport(sys: DistributedSystem, chatId: number): Promise<string> {
  const exportPath = await writeExport(sys.importDir, "Faults", chatId, messages);
  const res = await api(sys.gateway, "POST", "/api/scrape", { export_path: exportPath });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return res.json.job_id;
}

describe(`distributed mode: poison messages and a broker restart (${SIZE} messages, ${EXPECTED} to store)`, { timeout: 240_000 }, () => {
  let sys: DistributedSystem;
  let bus: KafkaBus;
  let inspect: DeadLetterInspector;

  before(async () => {
    await broker.startFresh();
    sys = await DistributedSystem.start(broker.brokers, { TGLENS_MODEL_VARIANT: process.env.FAULTS_TEST_MODEL_VARIANT ?? "int8" });
    // A producer of the test's own, on the topic names the services use (no prefix).
    bus = await createKafkaBus({ brokers: [broker.brokers], clientId: "tglens-test-faults" });
    inspect = inspectKafka({ brokers: [broker.brokers] });
  });

  after(async () => {
    await bus?.close();
    await inspect?.close();
    await sys?.close(process.env.FAULTS_TEST_KEEP_FILES === "1");
    await broker.stop();
  });

  it("poison messages on preprocess-topic go to preprocess-topic.dlq with their origin; the rest goes through; lag returns to 0", async () => {
    const chatId = 920001;
    const t0 = Date.now();
    const jobId = await startImport(sys, chatId);
    const key = String(chatId);
    // Not a RawMessage: fails validation on the way in, every time.
    const invalid = JSON.stringify({ v: 1, job_id: jobId, chat: { id: key }, text: 42, poison: "invalid-schema" });
    // A RawMessage in every field but its chat id, which is not a number: refused on the way in too,
    // naming the field (the handler-failure path is the bus contract's, with both buses).
    const failing = JSON.stringify({
      v: 1,
      job_id: jobId,
      chat: { id: "not-a-chat-id", name: "Poison", type: "public_supergroup" },
      message_id: 1,
      date: 1_700_000_000,
      sender: { id: "user1", name: "poison" },
      reply_to: null,
      forwarded_from: null,
      edited: null,
      media: null,
      text: "this message always fails in the preprocessor",
    });
    await bus.injectRaw("preprocess-topic", key, invalid);
    await bus.injectRaw("preprocess-topic", key, failing);

    const ms = await waitUntilStored(sys, chatId);
    let letters: DeadLetter[] = [];
    await until(
      "two dead letters on preprocess-topic.dlq",
      async () => (letters = await inspect.deadLetters("preprocess-topic")).length >= 2,
      30_000,
      250,
    );
    assert.equal(letters.length, 2, JSON.stringify(letters));
    const byPayload = new Map(letters.map((l) => [l.payload, l]));
    const a = byPayload.get(invalid);
    const b = byPayload.get(failing);
    assert.ok(a && b, `both poison messages dead-lettered: ${JSON.stringify(letters)}`);
    for (const l of [a, b]) {
      assert.equal(l.topic, "preprocess-topic");
      assert.equal(l.key, key);
      assert.ok(Number.isInteger(l.partition) && l.partition >= 0, `partition ${l.partition}`);
      assert.match(l.offset, /^\d+$/);
      assert.ok(l.attempts >= 1);
      assert.ok(l.error.code && l.error.message, JSON.stringify(l.error));
    }
    // Same key, same partition as the import's messages, in the order they were produced.
    assert.equal(a.partition, b.partition);
    assert.ok(BigInt(b.offset) > BigInt(a.offset), `offsets ${a.offset}, ${b.offset}`);
    assert.equal(a.error.code, "TGLENS_SCHEMA", JSON.stringify(a.error));
    assert.equal(b.error.code, "TGLENS_SCHEMA", JSON.stringify(b.error));
    assert.match(b.error.message, /\/chat\/id/, JSON.stringify(b.error));
    // Nothing else was dead-lettered downstream.
    for (const topic of ["embed-topic", "store-topic"] as const) assert.deepEqual(await inspect.deadLetters(topic), [], topic);
    await assertSearchable(sys, chatId);
    await assertNoDuplicates(sys, chatId);
    console.log(
      `# poison: dead letters at ${a.partition}/${a.offset} (${a.error.code}) and ${b.partition}/${b.offset} (${b.error.code}); ` +
        `drained in ${ms} ms; ${Date.now() - t0} ms in all`,
    );
  });

  it("the broker stopped in mid-import and started again: exactly the expected messages stored, none twice", async () => {
    const chatId = 920002;
    const storage = sys.proc("storage");
    const base = await storage.metric("tglens_stored_messages_total");
    const t0 = Date.now();
    const jobId = await startImport(sys, chatId);
    await until("the storage to store 50 messages", async () => (await storage.metric("tglens_stored_messages_total")) - base >= 50, 90_000, 20);
    await broker.stop();
    const storedAtStop = await chatCount(sys.gateway, chatId);
    assert.ok(storedAtStop < EXPECTED, `stopped in mid-import (${storedAtStop} of ${EXPECTED} stored)`);
    await sleep(3_000);
    await broker.start();
    const ms = await waitUntilStored(sys, chatId);
    await assertNoDuplicates(sys, chatId);
    await assertSearchable(sys, chatId);
    const job = await until(
      "the job to be done",
      async () => (await api(sys.gateway, "GET", `/api/jobs/${jobId}`)).json.state === "done",
      30_000,
      200,
    );
    assert.ok(job >= 0);
    console.log(`# broker stopped at ${storedAtStop}/${EXPECTED} stored; drained ${ms} ms after it was back; ${Date.now() - t0} ms in all`);
  });
});
