/**
 * The scraper's part of forgetting a chat: its raw file and checkpoint, the jobs of its job book
 * that name only the chat (the chat taken out of a job that names others too, on disk as well),
 * the chat's parked live reads and its jobs' uploads — and nothing of another chat. Asked again, it
 * finds nothing left. Through the scraper service, the forget arrives on control-topic.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { checkpointFile, chatFile, jobsDir, uploadFile } from "../../../services/common/data-files.ts";
import { openJobTracker, type JobTracker } from "../../../services/common/job-tracker.ts";
import { reportJob, reportMessages } from "../../../services/common/jobs.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../services/common/memory-bus.ts";
import type { ChatRef, ScrapeRequest } from "../../../services/common/schemas.ts";
import { forgetScrapedChat } from "../../../services/scraper/forget.ts";
import { createScraper } from "../../../services/scraper/index.ts";
import { parkedDir } from "../../../services/scraper/telegram/parking.ts";
import { askToForget, filesContaining } from "../../helpers/forget.ts";
import { snapshotDir, tempDir, testConfig } from "../../helpers/system.ts";

const silent = createLogger({ level: "silent" });
const GONE: ChatRef = { id: "5550042", name: "Gone chat", type: "private_group" };
const KEPT: ChatRef = { id: "5550043", name: "Kept chat", type: "private_group" };

async function put(file: string, text = "{}\n"): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

async function park(dataDir: string, jobId: string, chat: string): Promise<void> {
  const request: ScrapeRequest = { v: 1, job_id: jobId, source: { kind: "telegram", chat } };
  await put(path.join(parkedDir(dataDir), `${jobId}.json`), JSON.stringify({ request, resume_at: "2030-01-01T00:00:00.000Z", seconds: 3600 }));
}

/** A job of `chats` with one counted message of each, as the stages report it. */
async function job(bus: MemoryBus, jobId: string, chats: ChatRef[]): Promise<void> {
  await reportJob(bus, jobId, {}, { phase: "queued", source: "upload", expected: 10, chats });
  await reportMessages(bus, { scraped: chats.map((chat) => ({ job_id: jobId, chat, message_id: 1 })) });
}

describe("scraper: forgetting a chat", () => {
  let dataDir: string;
  let bus: MemoryBus;
  let tracker: JobTracker;

  before(async () => {
    dataDir = await tempDir("scraper-forget");
    bus = createMemoryBus();
    tracker = openJobTracker({ bus, dataDir, role: "scraper", log: silent });
    await tracker.follow();
    await job(bus, "job-a", [GONE]);
    await job(bus, "job-b", [GONE, KEPT]);
    await reportJob(bus, "job-b", { failed: 1 }, { errors: [{ chat_id: GONE.id, message_id: 3, code: "TGLENS_BAD_MESSAGE", message: "bad" }] });
    await job(bus, "job-c", [KEPT]);
    await job(bus, "job-e", [GONE]);
    const deadline = Date.now() + 10_000;
    while (tracker.jobs.get("job-b")?.errors.length !== 1 || !tracker.jobs.get("job-e")) {
      if (Date.now() > deadline) assert.fail("the tracker did not apply the events");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const chat of [GONE, KEPT]) {
      await put(chatFile(dataDir, "raw", chat.id));
      await put(checkpointFile(dataDir, chat.id));
    }
    for (const id of ["job-a", "job-b", "job-c"]) await put(uploadFile(dataDir, id));
    await park(dataDir, "job-d", GONE.id); // parked before its chat was resolved: named by id only
    await park(dataDir, "job-e", "@gone"); // its job names the chat
    await park(dataDir, "job-f", "@kept");
  });

  after(async () => {
    await tracker?.close();
    await bus?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("removes the chat's files, jobs, parked reads and uploads, and nothing of the other chat", async () => {
    assert.deepEqual(await forgetScrapedChat({ dataDir, tracker }, GONE.id), {
      raw_files: 1,
      checkpoints: 1,
      jobs: 2,
      jobs_scrubbed: 1,
      parked: 2,
      uploads: 2,
    });
    const left = (await snapshotDir(dataDir)).map((f) => f.split(":")[0]!).filter((f) => !f.startsWith("jobs/"));
    assert.deepEqual(left, ["checkpoints/5550043.json", "parked/job-f.json", "raw/5550043.jsonl", "uploads/job-c.json"]);
    assert.equal(tracker.jobs.get("job-a"), undefined);
    assert.equal(tracker.jobs.get("job-e"), undefined);
    const mixed = tracker.jobs.get("job-b")!;
    assert.deepEqual(
      mixed.chats.map((c) => c.id),
      [KEPT.id],
    );
    assert.deepEqual(mixed.errors, []);
    assert.equal(mixed.counters.scraped, 2, "its counters stay: numbers name nothing");
    assert.ok(tracker.jobs.get("job-c"));
  });

  it("keeps the job book that way on disk, with not even the chat's id left in its files", async () => {
    await tracker.close();
    tracker = openJobTracker({ bus, dataDir, role: "scraper", log: silent });
    assert.deepEqual(
      tracker.jobs
        .list()
        .map((j) => `${j.job_id}:${j.chats.map((c) => c.id).join(",")}`)
        .sort(),
      ["job-b:5550043", "job-c:5550043"],
    );
    assert.deepEqual(await filesContaining(jobsDir(dataDir), GONE.id), []);
    assert.notDeepEqual(await filesContaining(jobsDir(dataDir), KEPT.id), []);
  });

  it("finds nothing left when asked again", async () => {
    const again = await forgetScrapedChat({ dataDir, tracker }, GONE.id);
    assert.deepEqual(Object.keys(again).sort(), ["checkpoints", "jobs", "jobs_scrubbed", "parked", "raw_files", "uploads"]);
    assert.ok(
      Object.values(again).every((n) => n === 0),
      JSON.stringify(again),
    );
  });
});

describe("scraper service: a forget on control-topic", () => {
  it("forgets the chat's files and confirms what it removed", async () => {
    const config = await testConfig();
    const bus = createMemoryBus();
    const scraper = await createScraper({ bus, log: silent, config });
    await scraper.start();
    try {
      await put(chatFile(config.dataDir, "raw", GONE.id));
      const answer = await askToForget(bus, "scraper", GONE.id);
      assert.equal(answer.kind, "forgotten");
      assert.equal(answer.kind === "forgotten" && answer.removed.raw_files, 1);
      assert.deepEqual(await fs.readdir(path.join(config.dataDir, "raw")), []);
    } finally {
      await scraper.stop();
      await bus.close();
      await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });
    }
  });
});
