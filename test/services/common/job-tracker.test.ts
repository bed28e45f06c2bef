/**
 * The job tracker on the memory bus and on a real Kafka broker: events reach the book; a tracker
 * reopened on its data directory has the same book and the same consumer group (on Kafka, the
 * broker knows one group for it) and applies what came while it was down, once; trackers with data
 * directories of their own each see every event; a redelivery of events already written counts
 * nothing twice. The broker on 127.0.0.1:9092 (KAFKA_PORT) is started if nothing listens there, and
 * stopped afterwards only if this file started it; every Kafka test has topics and a role of its own.
 */
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { Admin } from "@platformatic/kafka";
import type { Bus } from "../../../services/common/bus.ts";
import { jobBookFile } from "../../../services/common/data-files.ts";
import { openJobTracker, type JobChange, type JobTracker, type JobTrackerOptions } from "../../../services/common/job-tracker.ts";
import type { JobStatus } from "../../../services/common/jobs.ts";
import { createKafkaBus } from "../../../services/common/kafka/index.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import type { JobEvent } from "../../../services/common/schemas.ts";
import { portOpen } from "../../../scripts/port-open.ts";
import { kafkaScript } from "../../helpers/distributed.ts";
import { captureLogs } from "../../helpers/logs.ts";
import { scratchDirs } from "../../helpers/system.ts";

const PORT = Number(process.env.KAFKA_PORT ?? 9092);
const BROKERS = [`127.0.0.1:${PORT}`];
const RUN = `t${Date.now().toString(36)}`;
const newDir = scratchDirs("job-tracker");
const silent = createLogger({ level: "silent" });

const queued = (job: string, expected: number | null): JobEvent => ({ v: 1, job_id: job, add: {}, phase: "queued", source: "upload", expected });
const counted = (job: string, counter: string, ids: number[]): JobEvent => ({
  v: 1,
  job_id: job,
  add: { [counter]: ids.length },
  ids: { [counter]: { "5": ids } },
});
/** Increments that name no message (as `skipped` of anonymous messages and `replaced` are reported). */
const plain = (job: string, add: Record<string, number>): JobEvent => ({ v: 1, job_id: job, add });

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One bus kind as the tests need it: handles on one log, as separate processes would have. */
interface Harness {
  /** A handle on the log (Kafka: a client of its own; memory: the one bus). */
  bus(): Promise<Bus>;
  /** The consumer groups of `role` the broker knows, or undefined where there is no broker. */
  groupsOf(role: string): Promise<string[] | undefined>;
  close(): Promise<void>;
}

function memoryHarness(): Harness {
  const bus = createMemoryBus({ retryBaseMs: 1 });
  return { bus: async () => bus, groupsOf: async () => undefined, close: () => bus.close() };
}

const kafkaPrefixes: string[] = [];
function kafkaHarness(): Harness {
  const prefix = `${RUN}${kafkaPrefixes.length + 1}-`;
  kafkaPrefixes.push(prefix);
  const buses: Bus[] = [];
  return {
    async bus() {
      const bus = await createKafkaBus({
        brokers: BROKERS,
        clientId: `tglens-test-${prefix.slice(0, -1)}`,
        topicPrefix: prefix,
        startTimeoutMs: 20_000,
      });
      buses.push(bus);
      return bus;
    },
    groupsOf: (role) => withAdmin(async (admin) => [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`jobs-${role}-`))),
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
}

async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: "tglens-test-admin", bootstrapBrokers: BROKERS });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

let roles = 0;
const newRole = () => `${RUN}-${++roles}`;

/** A tracker that follows job-topic, closed after the test if the test does not close it. */
async function follow(opened: JobTracker[], opts: JobTrackerOptions): Promise<JobTracker> {
  const tracker = openJobTracker(opts);
  opened.push(tracker);
  await tracker.follow();
  return tracker;
}

const publish = async (bus: Bus, events: JobEvent[]) => {
  for (const e of events) await bus.publish("job-topic", e, { key: e.job_id });
};
const counters = (t: JobTracker, job: string) => t.jobs.get(job)?.counters;

function trackerSuite(kind: string, harness: () => Harness) {
  describe(`job tracker (${kind} bus)`, { timeout: 180_000 }, () => {
    let h: Harness;
    let opened: JobTracker[];
    beforeEach(() => {
      h = harness();
      opened = [];
    });
    afterEach(async () => {
      for (const t of opened) await t.close();
      await h.close();
    });

    it("applies job-topic to the book, keeps it in data/jobs/<role>.sqlite, and counts each named message once", async () => {
      const bus = await h.bus();
      const dataDir = await newDir();
      const role = newRole();
      const t = await follow(opened, { bus, dataDir, role, log: silent });
      assert.match(t.group, new RegExp(`^jobs-${role}-[0-9a-f-]{36}$`));
      await publish(bus, [
        queued("a", 3),
        counted("a", "scraped", [1, 2, 3]),
        plain("a", { skipped: 2 }),
        counted("a", "stored", [1, 2]),
        counted("a", "stored", [2]),
      ]);
      await publish(bus, [counted("a", "stored", [3])]);
      await until("job a to be done", () => t.jobs.get("a")?.state === "done");
      assert.deepEqual(counters(t, "a"), { scraped: 3, skipped: 2, cleaned: 0, dropped: 0, embedded: 0, stored: 3, failed: 0, replaced: 0 });
      assert.equal(t.jobs.get("a")!.source, "upload");
      assert.ok((await fs.stat(jobBookFile(dataDir, role))).size > 0);
    });

    it("reopened on its data directory: the same book and group, and what came while it was down applied once", async () => {
      const publisher = await h.bus();
      const dataDir = await newDir();
      const role = newRole();
      const first = await follow(opened, { bus: await h.bus(), dataDir, role, log: silent });
      const chat = { id: "5", name: "Secret room", type: "private_group", username: "secretroomhandle" };
      await publish(publisher, [
        { ...queued("a", 4), chats: [chat] },
        counted("a", "scraped", [1, 2, 3, 4]),
        plain("a", { replaced: 1 }),
        counted("a", "stored", [1, 2]),
      ]);
      await until("two stored", () => counters(first, "a")?.stored === 2);
      const was = structuredClone(first.jobs.get("a")!);
      assert.deepEqual(was.chats, [chat]);
      await first.close();
      for (const file of await fs.readdir(path.dirname(jobBookFile(dataDir, role)))) {
        const bytes = await fs.readFile(path.join(path.dirname(jobBookFile(dataDir, role)), file));
        assert.ok(!bytes.includes("Secret room") && !bytes.includes("secretroomhandle"), `${file} names no chat (forget leaves no trace)`);
      }
      was.chats = [{ id: "5", name: "", type: "private_group" }];

      // While it is down: an id it counted already, new ones, and increments that name no message.
      await publish(publisher, [counted("a", "stored", [2, 3]), plain("a", { replaced: 2 }), queued("b", null)]);
      // This bus outlives the tracker (on a memory bus only within one test): the job can go on.
      const second = openJobTracker({ bus: await h.bus(), dataDir, role, log: silent, unfinishedJobsResume: true });
      opened.push(second);
      assert.equal(second.group, first.group, "the same consumer group");
      assert.deepEqual(second.jobs.get("a"), was, "the book as it was, before reading anything");
      await second.follow();
      await until("job b", () => second.jobs.get("b") !== undefined);
      assert.deepEqual(counters(second, "a"), { ...was.counters, stored: 3, replaced: 3 });
      assert.equal(second.jobs.get("a")!.created_at, was.created_at);
      assert.deepEqual(
        second.jobs.list().map((j) => j.job_id),
        ["b", "a"],
        "newest first",
      );
      await publish(publisher, [counted("a", "stored", [4])]);
      await until("job a to be done", () => second.jobs.get("a")?.state === "done");
      assert.deepEqual(counters(second, "a"), { ...was.counters, stored: 4, replaced: 3 });
      const groups = await h.groupsOf(role);
      if (groups) assert.deepEqual(groups, [first.group], "the broker knows one group for this role");
    });

    it("trackers with data directories of their own each see every event", async () => {
      const publisher = await h.bus();
      const role = newRole();
      const a = await follow(opened, { bus: await h.bus(), dataDir: await newDir(), role, log: silent });
      const b = await follow(opened, { bus: await h.bus(), dataDir: await newDir(), role, log: silent });
      assert.notEqual(a.group, b.group);
      const jobs = Array.from({ length: 6 }, (_, i) => `job-${i}`);
      await publish(
        publisher,
        jobs.flatMap((j) => [queued(j, 2), counted(j, "scraped", [1, 2]), plain(j, { skipped: 1 })]),
      );
      for (const t of [a, b]) await until("every job scraped", () => jobs.every((j) => counters(t, j)?.skipped === 1));
      for (const t of [a, b]) for (const j of jobs) assert.deepEqual([counters(t, j)!.scraped, t.jobs.get(j)!.expected], [2, 2]);
      const groups = await h.groupsOf(role);
      if (groups) assert.deepEqual(groups.sort(), [a.group, b.group].sort());
    });

    it("tells onChange of every applied event, after the batch is written; a failing hook is logged and tracking goes on", async () => {
      const logs = captureLogs();
      const bus = await h.bus();
      const changes: JobChange[] = [];
      const onChange = (change: JobChange) => {
        changes.push(change);
        if (changes.length === 1) throw new Error("the hook broke");
      };
      const log = createLogger({ level: "warn", destination: logs.stream });
      const t = await follow(opened, { bus, dataDir: await newDir(), role: newRole(), log, onChange });
      await publish(bus, [
        queued("a", null),
        counted("a", "scraped", [1]),
        { v: 1, job_id: "a", add: {}, phase: "failed", error: { code: "TGLENS_NOT_FOUND", message: "gone" } },
      ]);
      await until("three changes", () => changes.length === 3);
      assert.deepEqual(
        changes.map((c) => [c.event.phase ?? null, c.before ?? null, c.job.state]),
        [
          ["queued", null, "running"],
          [null, "running", "running"],
          ["failed", "running", "failed"],
        ],
      );
      assert.equal(changes[1]!.job.counters.scraped, 1, "the job as it was after that event");
      assert.equal(t.jobs.get("a")!.state, "failed");
      await until("the hook's failure logged", () => logs.lines.some((l) => l.includes("a job change hook failed") && l.includes("the hook broke")));
    });

    it("keeps the newest `capacity` jobs, in memory and in the file", async () => {
      const bus = await h.bus();
      const dataDir = await newDir();
      const role = newRole();
      const t = await follow(opened, { bus, dataDir, role, log: silent, capacity: 3 });
      // One key, so the jobs arrive in this order.
      for (let i = 1; i <= 5; i++) await bus.publish("job-topic", queued(`job-${i}`, 1), { key: "one" });
      await until("the fifth job", () => t.jobs.get("job-5") !== undefined);
      const newest = ["job-5", "job-4", "job-3"];
      assert.deepEqual(
        t.jobs.list().map((j: JobStatus) => j.job_id),
        newest,
      );
      await t.close();
      const reopened = openJobTracker({ bus, dataDir, role, log: silent, capacity: 10 });
      opened.push(reopened);
      assert.deepEqual(
        reopened.jobs.list().map((j) => j.job_id),
        newest,
        "the file kept only what the book kept",
      );
      await reopened.close();
      const smaller = openJobTracker({ bus, dataDir, role, log: silent, capacity: 2 });
      opened.push(smaller);
      assert.deepEqual(
        smaller.jobs.list().map((j) => j.job_id),
        newest.slice(0, 2),
      );
    });
  });
}

trackerSuite("memory", memoryHarness);
trackerSuite("kafka", kafkaHarness);

describe("job tracker: redeliveries and ownership", { timeout: 180_000 }, () => {
  it("counts nothing twice when events it wrote come again at their positions (a crash before the commit), and counts a new log's", async () => {
    const dataDir = await newDir();
    const role = newRole();
    const events = [queued("a", 5), counted("a", "scraped", [1, 2, 3, 4, 5]), plain("a", { skipped: 4, replaced: 1 }), counted("a", "stored", [1])];
    const first = createMemoryBus();
    const t1 = await follow([], { bus: first, dataDir, role, log: silent });
    await publish(first, events);
    await until("one stored", () => counters(t1, "a")?.stored === 1);
    const was = structuredClone(t1.jobs.get("a")!);
    await t1.close();
    await first.close();

    // The same records at the same offsets, as a redelivery brings them, then one that is new.
    const again = createMemoryBus();
    const t2 = await follow([], { bus: again, dataDir, role, log: silent });
    await publish(again, [...events, counted("a", "stored", [2])]);
    await until("two stored", () => counters(t2, "a")?.stored === 2);
    assert.deepEqual(counters(t2, "a"), { ...was.counters, stored: 2 });
    await t2.close();
    await again.close();

    // A memory bus starts empty at each start: other records at those offsets are new events.
    const fresh = createMemoryBus();
    const t3 = await follow([], { bus: fresh, dataDir, role, log: silent });
    await publish(fresh, [plain("a", { skipped: 1 }), plain("a", { replaced: 1 })]);
    await until("the new log's events", () => counters(t3, "a")?.replaced === 2);
    assert.deepEqual(counters(t3, "a"), { ...was.counters, stored: 2, skipped: 5, replaced: 2 });
    await t3.close();
    await fresh.close();
  });

  it("on Kafka, a group that lost its commits reads job-topic again from the start and counts nothing twice", async () => {
    const h = kafkaHarness();
    const dataDir = await newDir();
    const role = newRole();
    const opened: JobTracker[] = [];
    try {
      const publisher = await h.bus();
      const t1 = await follow(opened, { bus: await h.bus(), dataDir, role, log: silent });
      await publish(publisher, [
        queued("a", 5),
        counted("a", "scraped", [1, 2, 3, 4, 5]),
        plain("a", { skipped: 4, replaced: 1 }),
        counted("a", "stored", [1, 2]),
      ]);
      await until("two stored", () => counters(t1, "a")?.stored === 2);
      const was = structuredClone(t1.jobs.get("a")!);
      await t1.close();
      // As if the commits never reached the broker: the group is gone, so it starts at the earliest offset.
      await retrying("the group to be deleted", () => withAdmin((admin) => admin.deleteGroups({ groups: [t1.group] })));
      const t2 = await follow(opened, { bus: await h.bus(), dataDir, role, log: silent });
      await publish(publisher, [counted("a", "stored", [3])]);
      await until("three stored", () => counters(t2, "a")?.stored === 3);
      assert.deepEqual(counters(t2, "a"), { ...was.counters, stored: 3 });
    } finally {
      for (const t of opened) await t.close();
      await h.close();
    }
  });

  it("on a new in-memory bus, a job left running is failed as interrupted, and stays so; a parked one stays parked", async () => {
    const dataDir = await newDir();
    const role = newRole();
    const opened: JobTracker[] = [];
    const bus1 = createMemoryBus();
    const first = await follow(opened, { bus: bus1, dataDir, role, log: silent });
    await publish(bus1, [
      queued("r", 3),
      counted("r", "scraped", [1, 2, 3]),
      queued("d", 1),
      counted("d", "scraped", [1]),
      counted("d", "stored", [1]),
    ]);
    await publish(bus1, [queued("p", null), { v: 1, job_id: "p", add: {}, phase: "parked", resume_at: "2030-01-01T00:00:00.000Z" }]);
    await until("job d done, p parked", () => first.jobs.get("d")?.state === "done" && first.jobs.get("p")?.state === "parked");
    await first.close();
    await bus1.close();
    for (let round = 0; round < 2; round++) {
      const bus = createMemoryBus();
      const t = openJobTracker({ bus, dataDir, role, log: silent });
      assert.equal(t.jobs.get("r")?.state, "failed");
      assert.match(t.jobs.get("r")!.error!.message, /stopped before this job finished.*import it again/);
      assert.equal(t.jobs.get("d")?.state, "done", "a finished job stays as it was");
      assert.equal(t.jobs.get("p")?.state, "parked", "a parked job is kept on disk by the scraper and re-armed: not interrupted");
      await t.close();
      await bus.close();
    }
  });

  it("refuses a second tracker on a data directory that is open, and opens it once the first closed", async () => {
    const bus = createMemoryBus();
    const dataDir = await newDir();
    const role = newRole();
    const t1 = openJobTracker({ bus, dataDir, role, log: silent });
    assert.throws(() => openJobTracker({ bus, dataDir, role, log: silent }), {
      code: "TGLENS_CONFIG",
      message: /another .* process keeps its job book/,
    });
    const other = openJobTracker({ bus, dataDir, role: newRole(), log: silent });
    await Promise.all([t1.close(), other.close()]);
    const t2 = openJobTracker({ bus, dataDir, role, log: silent });
    assert.equal(t2.group, t1.group);
    await t2.close();
    await bus.close();
  });
});

/** Retries an action that may fail while the broker catches up (a group still leaving). */
async function retrying(what: string, action: () => Promise<unknown>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await action();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

let startedBroker = false;
before(async () => {
  if (!(await portOpen("127.0.0.1", PORT))) {
    await kafkaScript("start", PORT);
    startedBroker = true;
  }
});

after(async () => {
  await withAdmin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => kafkaPrefixes.some((p) => t.startsWith(p)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`jobs-${RUN}-`));
    if (groups.length > 0) await admin.deleteGroups({ groups });
  }).catch(() => undefined);
  if (startedBroker) await kafkaScript("stop", PORT);
});
