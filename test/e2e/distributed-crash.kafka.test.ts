/**
 * Crashes in distributed mode, on a real Kafka broker this file starts (its own port,
 * KAFKA_TEST_CRASH_PORT, default 19492, from empty state) and stops. The five services run as five
 * processes; a larger export (the first 2,000 messages of ../shared/data/ubuntu-irc-train.json, or
 * the team-chat fixture replicated with new ids when that file is absent) is imported, and in
 * mid-stream one service is killed with SIGKILL and restarted: the embedder, the storage, the
 * preprocessor. Each time the storage ends with exactly the expected messages (GET /api/chats),
 * every consumer group drained (lag 0), and no (chat, message) twice in search results. Then the
 * embedder, the storage and the preprocessor each get SIGTERM in mid-stream: each exits 0 within
 * 10 s, and the restarted process handles exactly what was left uncommitted (its message counter
 * against the group's offsets), nothing that was committed. Last, every job's counters are exact
 * despite the redeliveries, and a restarted scraper still knows every job (it rebuilds its job
 * book from job-topic).
 *
 * CRASH_TEST_MESSAGES sets the export's size, CRASH_TEST_MODEL_VARIANT the model (default int8, for
 * speed; fp32 is what the embedder's memory figure in deploy/docker-compose.yml was measured with),
 * CRASH_TEST_KEEP_FILES=1 keeps the processes' logs and data.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { chatFile } from "../../services/common/data-files.ts";
import { preprocess } from "../../services/preprocessor/clean.ts";
import { flattenText } from "../../services/scraper/export-mapping.ts";
import {
  api,
  chatCount,
  corpusMessages,
  DistributedSystem,
  sleep,
  TestBroker,
  topicOffsets,
  until,
  waitDrained,
  writeExport,
} from "../helpers/distributed.ts";

/** Messages in the larger export (CRASH_TEST_MESSAGES overrides; the default keeps the file near two minutes here). */
const SIZE = Number(process.env.CRASH_TEST_MESSAGES ?? 2_000);
const broker = new TestBroker(Number(process.env.KAFKA_TEST_CRASH_PORT ?? 19492));

/** The messages of the larger export (chat fields are set per scenario). */
const messages = await corpusMessages(SIZE);
/** Messages the storage must end with: kept by the scraper (type "message") and not empty after cleaning. */
const EXPECTED = messages.filter((m) => m.type === "message" && preprocess(flattenText(m.text) ?? "") !== null).length;

/** Waits until every group drained and the chat holds `EXPECTED` messages; then checks nothing more arrives. */
async function waitUntilStored(sys: DistributedSystem, chatId: number): Promise<number> {
  const ms = await waitDrained(sys.gateway, broker.brokers, chatId, EXPECTED, 240_000);
  await sleep(1_000);
  assert.equal(await chatCount(sys.gateway, chatId), EXPECTED, "exactly the expected messages, none lost, none twice");
  return ms;
}

/** No (chat, message) twice in search results: duplicates in the vector index would show here. */
async function assertNoDuplicates(sys: DistributedSystem, chatId: number): Promise<void> {
  for (const q of ["how do I install ubuntu", "sound card driver not working", "thanks for the help", "kernel panic on boot", "where is the party"]) {
    for (const mode of ["semantic", "hybrid"]) {
      const { status, json } = await api(sys.gateway, "GET", `/api/search?${new URLSearchParams({ q, k: "100", chat: String(chatId), mode })}`);
      assert.equal(status, 200, JSON.stringify(json));
      const keys = json.results.map((r: any) => `${r.chat_id}/${r.message_id}`);
      assert.equal(new Set(keys).size, keys.length, `duplicates for "${q}" (${mode})`);
    }
  }
}

async function startImport(sys: DistributedSystem, chatId: number): Promise<string> {
  const exportPath = await writeExport(sys.importDir, "Crash", chatId, messages);
  const res = await api(sys.gateway, "POST", "/api/scrape", { export_path: exportPath });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(res.json.messages, messages.filter((m) => m.type === "message").length);
  return res.json.job_id;
}

describe(`distributed mode: kill -9 and SIGTERM in mid-stream (${SIZE} messages, ${EXPECTED} to store)`, { timeout: 900_000 }, () => {
  let sys: DistributedSystem;
  const jobs: string[] = [];
  let peakEmbedderRss = 0;
  let sampling: NodeJS.Timeout | undefined;

  before(async () => {
    await broker.startFresh();
    // The int8 model embeds about twice as fast; what is tested here does not depend on the vectors.
    sys = await DistributedSystem.start(broker.brokers, { TGLENS_MODEL_VARIANT: process.env.CRASH_TEST_MODEL_VARIANT ?? "int8" });
    // The embedder's resident memory while it embeds, for the container limit in deploy/docker-compose.yml.
    sampling = setInterval(() => {
      const p = sys.procs.get("embedder");
      if (p?.running)
        void p.rss().then(
          (b) => (peakEmbedderRss = Math.max(peakEmbedderRss, b)),
          () => {},
        );
    }, 100);
  });

  after(async () => {
    clearInterval(sampling);
    console.log(`# embedder peak RSS while embedding: ${(peakEmbedderRss / 2 ** 20).toFixed(0)} MiB`);
    await sys?.close(process.env.CRASH_TEST_KEEP_FILES === "1");
    await broker.stop();
  });

  it("kill -9 of the embedder in mid-stream, restarted: every message stored exactly once", async () => {
    const chatId = 910001;
    const embedder = sys.proc("embedder");
    const base = await embedder.metric("tglens_embedded_messages_total");
    const t0 = Date.now();
    jobs.push(await startImport(sys, chatId));
    await until("the embedder to embed 500 messages", async () => (await embedder.metric("tglens_embedded_messages_total")) - base >= 500, 120_000);
    const storedBefore = await chatCount(sys.gateway, chatId);
    await embedder.kill9();
    assert.ok(storedBefore < EXPECTED, `killed in mid-stream (${storedBefore} of ${EXPECTED} stored)`);
    await sys.restart("embedder");
    const ms = await waitUntilStored(sys, chatId);
    await assertNoDuplicates(sys, chatId);
    console.log(`# embedder killed at ${storedBefore}/${EXPECTED} stored; drained ${ms} ms after restart; ${Date.now() - t0} ms in all`);
  });

  it("kill -9 of the storage in mid-stream, restarted: every message stored exactly once", async () => {
    const chatId = 910002;
    const storage = sys.proc("storage");
    const base = await storage.metric("tglens_stored_messages_total");
    const t0 = Date.now();
    jobs.push(await startImport(sys, chatId));
    await until("the storage to store 800 messages", async () => (await storage.metric("tglens_stored_messages_total")) - base >= 800, 120_000);
    const storedBefore = (await storage.metric("tglens_stored_messages_total")) - base;
    await storage.kill9();
    assert.ok(storedBefore < EXPECTED, `killed in mid-stream (${storedBefore} of ${EXPECTED} stored)`);
    await sys.restart("storage");
    const ms = await waitUntilStored(sys, chatId);
    await assertNoDuplicates(sys, chatId);
    console.log(`# storage killed at ${storedBefore}/${EXPECTED} stored; drained ${ms} ms after restart; ${Date.now() - t0} ms in all`);
  });

  it("kill -9 of the preprocessor in mid-stream, restarted: every message stored exactly once", async () => {
    const chatId = 910003;
    const preprocessor = sys.proc("preprocessor");
    const file = chatFile(sys.dataDirOf("preprocessor"), "preprocessed", String(chatId));
    const t0 = Date.now();
    jobs.push(await startImport(sys, chatId));
    // The preprocessor cleans thousands of messages a second: kill it as soon as its first batch is on disk.
    await until("the preprocessor's first batch", async () => (await fs.stat(file)).size > 0, 120_000, 2);
    await preprocessor.kill9();
    const linesBefore = (await fs.readFile(file, "utf8")).split("\n").filter(Boolean).length;
    assert.ok(linesBefore < EXPECTED, `killed in mid-stream (${linesBefore} of ${EXPECTED} cleaned)`);
    await sys.restart("preprocessor");
    const ms = await waitUntilStored(sys, chatId);
    await assertNoDuplicates(sys, chatId);
    console.log(`# preprocessor killed at ${linesBefore}/${EXPECTED} cleaned; drained ${ms} ms after restart; ${Date.now() - t0} ms in all`);
  });

  // SIGTERM: stop consuming, finish the batch in hand, commit, flush, save, exit 0 within 10 s; the
  // restarted process handles exactly what was not committed, nothing twice.
  const stages = [
    { service: "embedder", topic: "embed-topic", metric: "tglens_embedded_messages_total", after: 500, chatId: 910004, midStream: true },
    { service: "storage", topic: "store-topic", metric: "tglens_stored_messages_total", after: 800, chatId: 910005, midStream: true },
    // Cleaning takes about a millisecond a message: it may be through before the signal lands.
    { service: "preprocessor", topic: "preprocess-topic", metric: "tglens_preprocessed_messages_total", after: 1, chatId: 910006, midStream: false },
  ] as const;
  for (const stage of stages) {
    it(`SIGTERM of the ${stage.service} in mid-stream: exit 0 within 10 s; the restarted one handles only what was not committed`, async () => {
      const proc = sys.proc(stage.service);
      const base = await proc.metric(stage.metric);
      jobs.push(await startImport(sys, stage.chatId));
      await until(
        `the ${stage.service} to handle ${stage.after} messages`,
        async () => (await proc.metric(stage.metric)) - base >= stage.after,
        120_000,
        5,
      );
      const stop = await proc.term();
      assert.equal(stop.code, 0, `exit status ${stop.code} (${stop.signal})`);
      assert.ok(stop.ms < 10_000, `exited after ${stop.ms} ms`);
      const atStop = await topicOffsets(broker.brokers, stage.service, stage.topic);
      const restarted = await sys.restart(stage.service);
      const ms = await waitUntilStored(sys, stage.chatId);
      const atEnd = await topicOffsets(broker.brokers, stage.service, stage.topic);
      let remaining = 0;
      atEnd.ends.forEach((end, p) => (remaining += Number(end - (atStop.committed.get(p) ?? 0n))));
      const handledAfterRestart = await restarted.metric(stage.metric);
      if (stage.midStream) assert.ok(remaining > 0 && remaining < EXPECTED, `stopped in mid-stream (${remaining} of ${EXPECTED} left)`);
      assert.equal(handledAfterRestart, remaining, `the restarted ${stage.service} handled exactly the uncommitted messages`);
      await assertNoDuplicates(sys, stage.chatId);
      console.log(
        `# ${stage.service} SIGTERM exit 0 in ${stop.ms} ms; ${remaining} left, ${handledAfterRestart} handled after restart; ` +
          `drained ${ms} ms after restart`,
      );
    });
  }

  it("a restarted scraper still knows every job: its job book survives, and job-topic brings the rest", async () => {
    const before = await Promise.all(jobs.map(async (id) => (await api(sys.gateway, "GET", `/api/jobs/${id}`)).json));
    // Delivery is at least once, but counters count distinct messages: exact even after the crashes.
    const kept = messages.filter((m) => m.type === "message").length;
    for (const job of before) {
      assert.equal(job.state, "done", JSON.stringify(job));
      assert.equal(job.counters.scraped, kept, JSON.stringify(job.counters));
      assert.equal(job.counters.embedded, EXPECTED, JSON.stringify(job.counters));
      assert.equal(job.counters.stored, EXPECTED, JSON.stringify(job.counters));
      assert.equal(job.counters.cleaned + job.counters.dropped, kept, JSON.stringify(job.counters));
    }
    const stop = await sys.proc("scraper").term();
    assert.equal(stop.code, 0);
    await sys.restart("scraper");
    // The book fills as the new scraper reads job-topic from the start.
    const ms = await until(
      "the restarted scraper to know every job",
      async () => {
        for (const [i, id] of jobs.entries()) {
          const res = await api(sys.gateway, "GET", `/api/jobs/${id}`);
          if (res.status !== 200 || res.json.state !== "done" || JSON.stringify(res.json.counters) !== JSON.stringify(before[i].counters))
            return false;
        }
        return true;
      },
      30_000,
      200,
    );
    console.log(`# restarted scraper knew all ${jobs.length} jobs ${ms} ms after it was ready`);
  });
});
