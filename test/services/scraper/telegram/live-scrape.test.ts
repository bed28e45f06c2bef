/**
 * The live read against a fake Telegram (no network): every message once and in order through a
 * FloodWait, a restart that resumes without gaps or duplicates, a second run that reads only what
 * is new, and clear errors for chats that cannot be read.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import type { Delivery } from "../../../../services/common/bus.ts";
import { createLogger } from "../../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../../services/common/memory-bus.ts";
import type { JobEvent } from "../../../../services/common/schemas.ts";
import { readCheckpoint } from "../../../../services/scraper/telegram/checkpoints.ts";
import { FLOOD_WAIT_MARGIN_MS } from "../../../../services/scraper/telegram/flood-wait.ts";
import { liveScrape, type LiveScrapeDeps, type LiveScrapeJob } from "../../../../services/scraper/telegram/live-scrape.ts";
import {
  channel,
  FakeClock,
  FakeTelegram,
  floodWait,
  history,
  HISTORY_START,
  user,
  type FakeChat,
  type FakeFault,
} from "../../../helpers/fake-telegram.ts";
import { tempDir } from "../../../helpers/system.ts";
import { rejectsWith } from "../../../helpers/errors.ts";

const anna = user(5566778, "Anna", "Petrova");
const tom = user(7788990, "Tom", "Becker");
const CREW_ID = 1498765432;
const PAGE_DELAY_MS = 500;

interface Harness {
  bus: MemoryBus;
  dataDir: string;
  clock: FakeClock;
  logs: string[];
  /** preprocess-topic as a consumer sees it. */
  published: Delivery<"preprocess-topic">[];
  jobEvents: JobEvent[];
  deps(fake: FakeTelegram, settings?: Partial<LiveScrapeDeps["settings"]>): LiveScrapeDeps;
  /** Waits until the consumers have seen everything published so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const bus = createMemoryBus({ retryBaseMs: 1 });
  const dataDir = await tempDir("live-scrape");
  const clock = new FakeClock();
  const logs: string[] = [];
  const log = createLogger({ level: "trace", destination: { write: (line: string) => void logs.push(line) } as never });
  const published: Delivery<"preprocess-topic">[] = [];
  const jobEvents: JobEvent[] = [];
  let publishedCount = 0;
  let eventCount = 0;
  const countingBus: MemoryBus = {
    ...bus,
    publish: async (topic, message, opts) => {
      if (topic === "job-topic") eventCount++;
      return bus.publish(topic, message, opts);
    },
    publishMany: async (topic, items) => {
      if (topic === "preprocess-topic") publishedCount += items.length;
      return bus.publishMany(topic, items);
    },
  };
  await bus.subscribe("preprocess-topic", "test-preprocess", async (batch) => void published.push(...batch), { batchSize: 1000 });
  await bus.subscribe("job-topic", "test-jobs", async (batch) => void jobEvents.push(...batch.map((d) => d.message)), { batchSize: 1000 });
  return {
    bus: countingBus,
    dataDir,
    clock,
    logs,
    published,
    jobEvents,
    deps: (fake, settings = {}) => ({
      client: fake,
      context: { self: fake.me },
      bus: countingBus,
      dataDir,
      log,
      clock,
      settings: { floodWaitMaxSeconds: 300, pageSize: 100, pageDelayMs: PAGE_DELAY_MS, ...settings },
    }),
    async settle() {
      const deadline = Date.now() + 20_000;
      while ((published.length < publishedCount || jobEvents.length < eventCount) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
    },
    async close() {
      await bus.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

const open: Harness[] = [];
after(async () => {
  for (const h of open.splice(0)) await h.close();
});
async function newHarness(): Promise<Harness> {
  const h = await harness();
  open.push(h);
  return h;
}

/** A supergroup @kreuzberg with `count` messages; every 97th is a service message. */
function crewChat(count: number): FakeChat {
  const entity = channel(CREW_ID, "Kreuzberg Crew", { megagroup: true, username: "kreuzberg" });
  return { entity, messages: history(entity, count, [anna, tom], { serviceEvery: 97 }) };
}

async function connected(chats: FakeChat[], faults: FakeFault[] = []): Promise<FakeTelegram> {
  const fake = new FakeTelegram({ chats, users: [anna, tom], faults });
  await fake.connect();
  return fake;
}

const ids = (deliveries: Delivery<"preprocess-topic">[]) => deliveries.map((d) => d.message.message_id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const messageIds = (from: number, to: number) => range(from, to).filter((id) => id % 97 !== 0);
const job = (jobId: string, extra: Partial<LiveScrapeJob> = {}): LiveScrapeJob => ({ jobId, chat: "@kreuzberg", ...extra });

describe("live scrape", () => {
  it("reads a 5,000-message history with a FloodWait in the middle: every message once, in order", async () => {
    const h = await newHarness();
    const fake = await connected([crewChat(5000)], [{ method: "getMessages", call: 25, error: floodWait(30) }]);
    const outcome = await liveScrape(h.deps(fake), job("job-flood"));
    await h.settle();

    assert.equal(outcome.kind, "scraped");
    assert.deepEqual(ids(h.published), messageIds(1, 5000), "every message once, oldest first, no gaps");
    assert.ok(
      h.published.every((d) => d.meta.key === String(CREW_ID) && d.message.chat.id === String(CREW_ID)),
      "keyed and filed by the bare chat id",
    );
    assert.deepEqual(h.published[0]!.message.chat, { id: String(CREW_ID), name: "Kreuzberg Crew", type: "public_supergroup", username: "kreuzberg" });

    // Paced and slept, never hot: 50 full pages, the empty page that ends the history, one FloodWait.
    assert.equal(fake.callsOf("getMessages"), 52);
    const floodSleeps = h.clock.sleeps.filter((ms) => ms !== PAGE_DELAY_MS);
    assert.deepEqual(floodSleeps, [30_000 + FLOOD_WAIT_MARGIN_MS], "the FloodWait is slept exactly, plus the margin");
    assert.equal(h.clock.sleeps.filter((ms) => ms === PAGE_DELAY_MS).length, 50, "a pause between pages");
    const requests = fake.calls.filter((c) => c.method === "getMessages").map((c) => c.params as { minId: number; reverse: boolean; limit: number });
    assert.ok(requests.every((r) => r.reverse === true && r.limit === 100));
    assert.equal(requests[24]!.minId, requests[25]!.minId, "the page that hit the FloodWait is asked for again");

    // The job was told about the wait, and that it ended.
    const waits = h.jobEvents.filter((e) => e.job_id === "job-flood" && e.resume_at !== undefined);
    assert.equal(waits.length, 2);
    assert.match(waits[0]!.note ?? "", /wait 30 s/);
    assert.equal(waits[1]!.resume_at, null);
    const warn = h.logs.map((l) => JSON.parse(l) as { level: number; seconds?: number; msg: string }).find((l) => l.seconds === 30);
    assert.equal(warn?.level, 40, "logged as a warning with its seconds");

    // Counted per message, the service messages as skipped; the phase says the source is read.
    const counted = { scraped: new Set<number>(), skipped: new Set<number>() };
    for (const e of h.jobEvents)
      for (const k of ["scraped", "skipped"] as const) for (const id of e.ids?.[k]?.[String(CREW_ID)] ?? []) counted[k].add(id);
    assert.equal(counted.scraped.size, messageIds(1, 5000).length);
    assert.deepEqual(
      [...counted.skipped].sort((a, b) => a - b),
      range(1, 5000).filter((id) => id % 97 === 0),
    );
    assert.equal(h.jobEvents.at(-1)?.phase, "scraped");

    const cp = await readCheckpoint(h.dataDir, String(CREW_ID));
    assert.equal(cp?.last_message_id, 5000);
    const raw = (await fs.readFile(path.join(h.dataDir, "raw", `${CREW_ID}.jsonl`), "utf8")).trim().split("\n");
    assert.deepEqual(
      raw.map((l) => (JSON.parse(l) as { message_id: number }).message_id),
      messageIds(1, 5000),
    );
  });

  it("resumes after a crash in the middle without gaps or duplicates", async () => {
    const h = await newHarness();
    const chat = crewChat(5000);
    const first = await connected([chat], [{ method: "getMessages", call: 21, error: () => new Error("socket hang up") }]);
    const err = await rejectsWith(liveScrape(h.deps(first), job("job-crash")), "TGLENS_TELEGRAM");
    assert.match(err.message, /socket hang up/);
    await h.settle();
    assert.deepEqual(ids(h.published), messageIds(1, 2000), "20 pages were published before the crash");
    assert.equal((await readCheckpoint(h.dataDir, String(CREW_ID)))?.last_message_id, 2000);

    // A new process: a new client, the same data directory, the same request redelivered.
    const second = await connected([chat]);
    const outcome = await liveScrape(h.deps(second), job("job-crash"));
    await h.settle();
    assert.equal(outcome.kind, "scraped");
    assert.equal(
      (second.calls.find((c) => c.method === "getMessages")?.params as { minId: number }).minId,
      2000,
      "it asks for what follows the checkpoint",
    );
    assert.deepEqual(ids(h.published), messageIds(1, 5000), "no gaps, no duplicates");
  });

  it("reads only new messages on the next scrape of a chat", async () => {
    const h = await newHarness();
    const chat = crewChat(300);
    const fake = await connected([chat]);
    await liveScrape(h.deps(fake), job("job-a"));
    await h.settle();
    assert.deepEqual(ids(h.published), messageIds(1, 300));

    fake.append(chat.entity, history(chat.entity, 120, [anna, tom], { firstId: 301 }));
    const before = h.published.length;
    const outcome = await liveScrape(h.deps(fake), job("job-b"));
    await h.settle();
    assert.equal(outcome.kind === "scraped" && outcome.scraped, 120);
    assert.deepEqual(ids(h.published.slice(before)), range(301, 420));
    assert.ok(h.published.slice(before).every((d) => d.message.job_id === "job-b"));

    const nothingNew = await liveScrape(h.deps(fake), job("job-c"));
    await h.settle();
    assert.equal(nothingNew.kind === "scraped" && nothingNew.scraped, 0);
    assert.equal(h.published.length, before + 120);
    assert.equal(h.jobEvents.filter((e) => e.job_id === "job-c").at(-1)?.phase, "scraped", "an empty read still ends its job");
  });

  it("fails an unknown or unreadable chat with TGLENS_CHAT_NOT_FOUND naming it, publishing nothing", async () => {
    const h = await newHarness();
    const hidden = channel(555, "Secret", { megagroup: true });
    const fake = await connected([crewChat(10), { entity: hidden, messages: [], unreadable: true }]);
    const unknown = await rejectsWith(liveScrape(h.deps(fake), job("job-x", { chat: "@nosuchchat" })), "TGLENS_CHAT_NOT_FOUND");
    assert.match(unknown.message, /@nosuchchat/);
    const notMine = await rejectsWith(liveScrape(h.deps(fake), job("job-y", { chat: "987654321" })), "TGLENS_CHAT_NOT_FOUND");
    assert.match(notMine.message, /987654321.*not among this account's chats/);
    const unreadable = await rejectsWith(liveScrape(h.deps(fake), job("job-z", { chat: "-100555" })), "TGLENS_CHAT_NOT_FOUND");
    assert.match(unreadable.message, /-100555.*CHANNEL_PRIVATE/);
    await h.settle();
    assert.equal(h.published.length, 0);
    await assert.rejects(fs.stat(path.join(h.dataDir, "checkpoints")));
  });

  it("finds a chat by its bare id (as exports write it) or its marked id, among the account's chats", async () => {
    for (const chatId of [String(CREW_ID), `-100${CREW_ID}`, "https://t.me/c/1498765432/7"]) {
      const h = await newHarness();
      const fake = await connected([{ entity: user(42, "Someone"), messages: [] }, crewChat(5)]);
      const outcome = await liveScrape(h.deps(fake), job(`job-${chatId}`, { chat: chatId }));
      assert.equal(outcome.kind === "scraped" && outcome.chat.id, String(CREW_ID), chatId);
      assert.equal(fake.callsOf("getEntity"), 0, "ids are looked up among dialogs, not resolved by Telegram");
    }
  });

  it("takes at most `limit` messages per job, the next job going on from there; `since` leaves older ones out", async () => {
    const h = await newHarness();
    const fake = await connected([crewChat(1000)]);
    await liveScrape(h.deps(fake), job("job-limit", { limit: 250 }));
    await h.settle();
    assert.deepEqual(ids(h.published), messageIds(1, 250));
    assert.equal((await readCheckpoint(h.dataDir, String(CREW_ID)))?.job_messages, 250);

    const since = HISTORY_START + 900 * 60;
    await liveScrape(h.deps(fake), job("job-since", { since }));
    await h.settle();
    assert.deepEqual(ids(h.published), [...messageIds(1, 250), ...messageIds(900, 1000)]);
  });

  it("keeps counting a job's limit across a restart", async () => {
    const h = await newHarness();
    const chat = crewChat(1000);
    const first = await connected([chat], [{ method: "getMessages", call: 3, error: () => new Error("ECONNRESET") }]);
    await rejectsWith(liveScrape(h.deps(first), job("job-l", { limit: 350 })), "TGLENS_TELEGRAM");
    await liveScrape(h.deps(await connected([chat])), job("job-l", { limit: 350 }));
    await h.settle();
    assert.deepEqual(ids(h.published), messageIds(1, 350));
  });

  it("stops at a FloodWait over the cap and says when to resume, having slept nothing for it", async () => {
    const h = await newHarness();
    const fake = await connected([crewChat(500)], [{ method: "getMessages", call: 3, error: floodWait(3600) }]);
    const start = h.clock.now();
    const outcome = await liveScrape(h.deps(fake, { floodWaitMaxSeconds: 300 }), job("job-park"));
    await h.settle();
    assert.equal(outcome.kind, "parked");
    assert.ok(outcome.kind === "parked");
    assert.equal(outcome.seconds, 3600);
    assert.equal(outcome.resumeAt, start + PAGE_DELAY_MS * 2 + 3_600_000 + FLOOD_WAIT_MARGIN_MS);
    assert.deepEqual(h.clock.sleeps, [PAGE_DELAY_MS, PAGE_DELAY_MS], "only the pacing between pages");
    assert.deepEqual(ids(h.published), messageIds(1, 200));
    assert.equal((await readCheckpoint(h.dataDir, String(CREW_ID)))?.last_message_id, 200);
    assert.equal(fake.callsOf("getMessages"), 3, "no retry before the wait is over");
  });
});
