/**
 * The job tracker suite every bus passes (the memory bus in job-tracker.test.ts, Kafka in
 * job-tracker.kafka.test.ts), and what those files share: job events, a data directory and a role of
 * each test's own, trackers closed after the test.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import type { Bus } from "../../../services/common/bus.ts";
import { jobBookFile } from "../../../services/common/data-files.ts";
import { openJobTracker, type JobChange, type JobTracker, type JobTrackerOptions } from "../../../services/common/job-tracker.ts";
import type { JobStatus } from "../../../services/common/jobs.ts";
import { createLogger } from "../../../services/common/logger.ts";
import type { JobEvent } from "../../../services/common/schemas.ts";
import { captureLogs } from "../../helpers/logs.ts";
import { scratchDirs } from "../../helpers/temp.ts";

/** This run's mark on roles (and, on Kafka, topics and groups), so runs never share them. */
export const RUN = `t${Date.now().toString(36)}`;
export const newDir = scratchDirs("job-tracker");
export const silent = createLogger({ level: "silent" });

export const queued = (job: string, expected: number | null): JobEvent => ({
  v: 1,
  job_id: job,
  add: {},
  phase: "queued",
  source: "upload",
  expected,
});
export const counted = (job: string, counter: string, ids: number[]): JobEvent => ({
  v: 1,
  job_id: job,
  add: { [counter]: ids.length },
  ids: { [counter]: { "5": ids } },
});
/** Increments that name no message (as `skipped` of anonymous messages and `replaced` are reported). */
export const plain = (job: string, add: Record<string, number>): JobEvent => ({ v: 1, job_id: job, add });

export async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One bus kind as the tests need it: handles on one log, as separate processes would have. */
export interface Harness {
  /** A handle on the log (Kafka: a client of its own; memory: the one bus). */
  bus(): Promise<Bus>;
  /** The consumer groups of `role` the broker knows, or undefined where there is no broker. */
  groupsOf(role: string): Promise<string[] | undefined>;
  close(): Promise<void>;
}

let roles = 0;
export const newRole = () => `${RUN}-${++roles}`;

/** A tracker that follows job-topic, closed after the test if the test does not close it. */
export async function follow(opened: JobTracker[], opts: JobTrackerOptions): Promise<JobTracker> {
  const tracker = openJobTracker(opts);
  opened.push(tracker);
  await tracker.follow();
  return tracker;
}

export const publish = async (bus: Bus, events: JobEvent[]) => {
  for (const e of events) await bus.publish("job-topic", e, { key: e.job_id });
};
export const counters = (t: JobTracker, job: string) => t.jobs.get(job)?.counters;

export function trackerSuite(kind: string, harness: () => Harness) {
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
      const dataDir = newDir();
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
      const dataDir = newDir();
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
      const a = await follow(opened, { bus: await h.bus(), dataDir: newDir(), role, log: silent });
      const b = await follow(opened, { bus: await h.bus(), dataDir: newDir(), role, log: silent });
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
      const t = await follow(opened, { bus, dataDir: newDir(), role: newRole(), log, onChange });
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
      const dataDir = newDir();
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
