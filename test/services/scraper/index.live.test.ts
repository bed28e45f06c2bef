/**
 * The scraper service with live reading, against a fake Telegram: POST /scrape {chat} and its
 * validation, the product without credentials, parking a long FloodWait (and re-arming it after a
 * restart), retries of Telegram errors, and secrets that never reach a log line or a job.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { LogLevel } from "telegram/extensions/Logger.js";
import type { Delivery } from "../../../services/common/bus.ts";
import type { Config } from "../../../services/common/config.ts";
import type { JobStatus } from "../../../services/common/jobs.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../services/common/memory-bus.ts";
import type { Service } from "../../../services/common/service.ts";
import { createScraper } from "../../../services/scraper/index.ts";
import { GramjsLogBridge, type TelegramClientFactory } from "../../../services/scraper/telegram/client.ts";
import { FLOOD_WAIT_MARGIN_MS } from "../../../services/scraper/telegram/flood-wait.ts";
import { parkedDir } from "../../../services/scraper/telegram/parking.ts";
import { channel, FakeClock, FakeTelegram, floodWait, history, user, type FakeFault } from "../../helpers/fake-telegram.ts";
import { snapshotDir, testConfig } from "../../helpers/system.ts";
import { TEAM_CHAT_EXPORT } from "../../helpers/fixtures.ts";

const API_HASH = "canary-api-hash-5f0c2b7e9d1a";
const SESSION = "canary-session-1BVtsOK8Bu0gXx4QnM2hQ";
const CREDENTIALS = { TELEGRAM_API_ID: "12345", TELEGRAM_API_HASH: API_HASH, TELEGRAM_SESSION: SESSION };
const CREW_ID = "1498765432";
const TEAM_EXPORT = TEAM_CHAT_EXPORT;

const anna = user(5566778, "Anna", "Petrova");
const tom = user(7788990, "Tom", "Becker");
const crew = channel(Number(CREW_ID), "Kreuzberg Crew", { megagroup: true, username: "kreuzberg" });

function fakeTelegram(count: number, faults: FakeFault[] = []): FakeTelegram {
  return new FakeTelegram({ chats: [{ entity: crew, messages: history(crew, count, [anna, tom]) }], users: [anna, tom], faults });
}

interface Running {
  scraper: Service;
  bus: MemoryBus;
  config: Readonly<Config>;
  logs: string[];
  /** scrape-topic and preprocess-topic as other consumers see them. */
  scrapeRequests: Delivery<"scrape-topic">[];
  published: Delivery<"preprocess-topic">[];
  job(id: string): Promise<JobStatus>;
  waitForJob(id: string, until: (job: JobStatus) => boolean): Promise<JobStatus>;
  stop(): Promise<void>;
}

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function start(
  opts: { env?: Record<string, string>; factory?: TelegramClientFactory; clock?: FakeClock; bus?: MemoryBus; config?: Readonly<Config> } = {},
): Promise<Running> {
  const config = opts.config ?? (await testConfig({ TGLENS_SCRAPE_PAGE_DELAY_MS: "0", ...opts.env }));
  const bus = opts.bus ?? createMemoryBus({ retryBaseMs: 1 });
  const logs: string[] = [];
  const log = createLogger({ level: "trace", destination: { write: (line: string) => void logs.push(line) } as never });
  const scraper = await createScraper({
    bus,
    log,
    config,
    telegram: { ...(opts.factory ? { clientFactory: opts.factory } : {}), clock: opts.clock ?? new FakeClock() },
  });
  await scraper.start();
  const scrapeRequests: Delivery<"scrape-topic">[] = [];
  const published: Delivery<"preprocess-topic">[] = [];
  const group = `test-${Math.random()}`;
  await bus.subscribe("scrape-topic", group, async (b) => void scrapeRequests.push(...b));
  await bus.subscribe("preprocess-topic", group, async (b) => void published.push(...b), { batchSize: 1000 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await scraper.stop();
  };
  if (!opts.bus)
    cleanup.push(async () => (await stop(), await bus.close(), await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true })));
  else cleanup.push(stop);
  const job = async (id: string) => (await scraper.app.inject({ method: "GET", url: `/jobs/${id}` })).json() as JobStatus;
  return {
    scraper,
    bus,
    config,
    logs,
    scrapeRequests,
    published,
    job,
    async waitForJob(id, until) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const status = await job(id);
        // A process that was not there when the job was queued learns of it from its next event.
        if (status.job_id !== undefined && until(status)) return status;
        if (Date.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop,
  };
}

const post = (s: Running, payload: unknown) =>
  s.scraper.app.inject({ method: "POST", url: "/scrape", payload: payload as object, headers: { "content-type": "application/json" } });
const scrapedAll = (job: JobStatus) => job.state === "failed" || (job.expected !== null && job.counters.scraped >= job.expected);
const ids = (d: Delivery<"preprocess-topic">[]) => d.map((x) => x.message.message_id);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const settle = () => new Promise((r) => setTimeout(r, 100));

describe("scraper: live reading", () => {
  it("queues POST /scrape {chat} as a job and reads the chat", async () => {
    const fake = fakeTelegram(250);
    const s = await start({ env: CREDENTIALS, factory: () => fake });
    const res = await post(s, { chat: "https://t.me/kreuzberg" });
    assert.equal(res.statusCode, 202, res.body);
    const { job_id, chat } = res.json() as { job_id: string; chat: string };
    assert.equal(chat, "@kreuzberg");
    const job = await s.waitForJob(job_id, scrapedAll);
    assert.equal(job.state, "running", "stored by nobody here, so not done");
    assert.equal(job.source, "telegram:@kreuzberg");
    assert.equal(job.expected, 250);
    assert.equal(job.counters.scraped, 250);
    assert.deepEqual(job.chats, [{ id: CREW_ID, name: "Kreuzberg Crew", type: "public_supergroup", username: "kreuzberg" }]);
    assert.deepEqual(
      s.scrapeRequests.map((d) => d.message.source),
      [{ kind: "telegram", chat: "@kreuzberg" }],
    );
    await settle();
    assert.deepEqual(ids(s.published), range(250));
  });

  it("fails a job for an unknown chat with TGLENS_CHAT_NOT_FOUND naming the chat", async () => {
    const s = await start({ env: CREDENTIALS, factory: () => fakeTelegram(5) });
    const { job_id } = (await post(s, { chat: "@nosuchchat" })).json() as { job_id: string };
    const job = await s.waitForJob(job_id, (j) => j.state === "failed");
    assert.equal(job.error?.code, "TGLENS_CHAT_NOT_FOUND");
    assert.match(job.error?.message ?? "", /@nosuchchat/);
    assert.equal(s.published.length, 0);
  });

  it("refuses a bad request with 400 naming the field: no job, nothing queued, no file left", async () => {
    const s = await start({ env: CREDENTIALS, factory: () => fakeTelegram(5) });
    const before = await snapshotDir(s.config.dataDir);
    const cases: [unknown, string][] = [
      [{ chat: "" }, "chat"],
      [{ chat: "https://t.me/+AbCdEf" }, "chat"],
      [{ chat: 42 }, "chat"],
      [{ chat: "@kreuzberg", limit: 0 }, "limit"],
      [{ chat: "@kreuzberg", limit: "ten" }, "limit"],
      [{ chat: "@kreuzberg", since: "last week" }, "since"],
      [{ chat: "@kreuzberg", follow: true }, "follow"],
    ];
    for (const [payload, field] of cases) {
      const res = await post(s, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      const { error } = res.json() as { error: { code: string; message: string } };
      assert.equal(error.code, "TGLENS_BAD_REQUEST");
      assert.match(error.message, new RegExp(`body\\.${field}`));
    }
    await settle();
    assert.deepEqual((await s.scraper.app.inject({ method: "GET", url: "/jobs" })).json(), { jobs: [] });
    assert.equal(s.scrapeRequests.length, 0);
    assert.deepEqual(await snapshotDir(s.config.dataDir), before);
  });

  it("parks a job over a FloodWait longer than the cap, and resumes it when the time comes", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1), { holdAbove: 60_000 });
    const fake = fakeTelegram(500, [{ method: "getMessages", call: 3, error: floodWait(3600) }]);
    const s = await start({ env: { ...CREDENTIALS, TGLENS_FLOOD_WAIT_MAX: "60" }, factory: () => fake, clock });
    const { job_id } = (await post(s, { chat: "@kreuzberg" })).json() as { job_id: string };

    const parked = await s.waitForJob(job_id, (j) => j.state === "parked");
    const resumeAt = new Date(Date.UTC(2025, 0, 1) + 3_600_000 + FLOOD_WAIT_MARGIN_MS).toISOString();
    assert.equal(parked.resume_at, resumeAt);
    assert.match(parked.note ?? "", /3600 s.*TGLENS_FLOOD_WAIT_MAX=60/);
    const file = path.join(parkedDir(s.config.dataDir), `${job_id}.json`);
    const entry = JSON.parse(await fs.readFile(file, "utf8")) as { request: { job_id: string }; resume_at: string };
    assert.deepEqual([entry.request.job_id, entry.resume_at], [job_id, resumeAt]);
    assert.equal(fake.callsOf("getMessages"), 3, "nothing asked of Telegram while parked");

    clock.release();
    const done = await s.waitForJob(job_id, scrapedAll);
    assert.equal(done.state, "running");
    assert.equal(done.resume_at, null);
    assert.equal(done.counters.scraped, 500);
    await settle();
    assert.deepEqual(ids(s.published), range(500), "no gaps, no duplicates across the park");
    await assert.rejects(fs.stat(file), "the parked file is gone once resumed");
  });

  it("re-arms a parked job from disk when the scraper restarts", async () => {
    const bus = createMemoryBus({ retryBaseMs: 1 });
    const config = await testConfig({ ...CREDENTIALS, TGLENS_SCRAPE_PAGE_DELAY_MS: "0", TGLENS_FLOOD_WAIT_MAX: "60" });
    cleanup.push(async () => (await bus.close(), await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true })));
    const first = await start({
      config,
      bus,
      clock: new FakeClock(Date.UTC(2025, 0, 1), { holdAbove: 60_000 }),
      factory: () => fakeTelegram(300, [{ method: "getMessages", call: 2, error: floodWait(7200) }]),
    });
    const { job_id } = (await post(first, { chat: "@kreuzberg" })).json() as { job_id: string };
    await first.waitForJob(job_id, (j) => j.state === "parked");
    await first.stop();
    assert.equal((await fs.readdir(parkedDir(config.dataDir))).length, 1, "the parked job survives the stop");

    // A new process, two hours later by its clock: the parked job resumes at start.
    const second = await start({ config, bus, clock: new FakeClock(Date.UTC(2025, 0, 1, 3)), factory: () => fakeTelegram(300) });
    const job = await second.waitForJob(job_id, scrapedAll);
    assert.equal(job.state, "running");
    await settle();
    // The first test consumer saw preprocess-topic from the start, before and after the restart.
    assert.deepEqual(ids(first.published), range(300), "each message once, in order, across the restart");
    assert.deepEqual(await fs.readdir(parkedDir(config.dataDir)), []);
  });

  it("retries a Telegram error from the checkpoint, without gaps or duplicates", async () => {
    const fake = fakeTelegram(450, [{ method: "getMessages", call: 3, error: () => new Error("ECONNRESET") }]);
    const s = await start({ env: { ...CREDENTIALS, TGLENS_SCRAPE_PAGE_SIZE: "50" }, factory: () => fake });
    const { job_id } = (await post(s, { chat: "@kreuzberg" })).json() as { job_id: string };
    const job = await s.waitForJob(job_id, scrapedAll);
    assert.equal(job.state, "running");
    await settle();
    assert.deepEqual(ids(s.published), range(450));
  });

  it("never lets the API hash or the session reach a log line or a job", async () => {
    // A client that talks about its secrets, in an error and through GramJS's logger.
    const chatty: TelegramClientFactory = (credentials, log) => {
      new GramjsLogBridge(log)._log(LogLevel.WARN, `connecting with ${credentials.session} and ${credentials.apiHash}`);
      const fake = fakeTelegram(5);
      fake.connect = async () => {
        throw new Error(`handshake failed for session ${credentials.session} (api hash ${credentials.apiHash})`);
      };
      return fake;
    };
    const s = await start({ env: CREDENTIALS, factory: chatty });
    const { job_id } = (await post(s, { chat: "@kreuzberg" })).json() as { job_id: string };
    const job = await s.waitForJob(job_id, (j) => j.state === "failed");
    assert.equal(job.error?.code, "TGLENS_TELEGRAM");
    assert.match(job.error?.message ?? "", /handshake failed for session \[REDACTED\]/);
    const everything = [...s.logs, JSON.stringify(job), JSON.stringify((await s.scraper.app.inject({ method: "GET", url: "/jobs" })).json())].join(
      "\n",
    );
    assert.ok(
      s.logs.some((l) => l.includes("connecting with [REDACTED]")),
      "the GramJS line was logged, scrubbed",
    );
    assert.ok(!everything.includes(SESSION), "the session leaked");
    assert.ok(!everything.includes(API_HASH), "the API hash leaked");
  });
});

describe("scraper: without Telegram credentials", () => {
  it("answers a live request with 503 naming what is missing: no job, nothing queued", async () => {
    const s = await start({ env: { TELEGRAM_API_ID: "12345" } });
    const res = await post(s, { chat: "@kreuzberg" });
    assert.equal(res.statusCode, 503);
    const { error } = res.json() as { error: { code: string; message: string } };
    assert.equal(error.code, "TGLENS_TELEGRAM_NOT_CONFIGURED");
    assert.match(error.message, /TELEGRAM_API_HASH is not set/);
    assert.doesNotMatch(error.message, /TELEGRAM_API_ID/);
    assert.match(error.message, /tglens login/);
    await settle();
    assert.deepEqual((await s.scraper.app.inject({ method: "GET", url: "/jobs" })).json(), { jobs: [] });
    assert.equal(s.scrapeRequests.length, 0);
  });

  it("still imports exports", async () => {
    const s = await start();
    const res = await s.scraper.app.inject({
      method: "POST",
      url: "/scrape",
      payload: await fs.readFile(TEAM_EXPORT),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.statusCode, 202, res.body);
    const job = await s.waitForJob((res.json() as { job_id: string }).job_id, scrapedAll);
    assert.equal(job.counters.scraped, 390);
  });

  it("fails a live request that reaches it anyway (another process queued it) with the missing variables", async () => {
    const s = await start({ env: { TELEGRAM_API_HASH: API_HASH } });
    await s.bus.publish("scrape-topic", { v: 1, job_id: "job-remote", source: { kind: "telegram", chat: "@kreuzberg" } }, { key: "job-remote" });
    const job = await s.waitForJob("job-remote", (j) => j.state === "failed");
    assert.equal(job.error?.code, "TGLENS_TELEGRAM_NOT_CONFIGURED");
    assert.match(job.error?.message ?? "", /TELEGRAM_API_ID is not set/);
    assert.doesNotMatch(job.error?.message ?? "", /TELEGRAM_API_HASH/);
  });
});
