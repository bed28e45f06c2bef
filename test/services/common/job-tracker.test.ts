/**
 * The job tracker on the memory bus: the shared suite (job-tracker-suite.ts), then what only a
 * memory bus shows: a redelivery of events already written counts nothing twice, a new in-memory
 * log interrupts the jobs left running, and one data directory has one tracker at a time.
 * The same suite on a real broker is job-tracker.kafka.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { openJobTracker, type JobTracker } from "../../../services/common/job-tracker.ts";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import {
  counted,
  counters,
  follow,
  type Harness,
  newDir,
  newRole,
  plain,
  publish,
  queued,
  silent,
  trackerSuite,
  until,
} from "./job-tracker-suite.ts";

function memoryHarness(): Harness {
  const bus = createMemoryBus({ retryBaseMs: 1 });
  return { bus: async () => bus, groupsOf: async () => undefined, close: () => bus.close() };
}

trackerSuite("memory", memoryHarness);

describe("job tracker: redeliveries and ownership", { timeout: 180_000 }, () => {
  it("counts nothing twice when events it wrote come again at their positions (a crash before the commit), and counts a new log's", async () => {
    const dataDir = newDir();
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

  it("on a new in-memory bus, a job left running is failed as interrupted, and stays so; a parked one stays parked", async () => {
    const dataDir = newDir();
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
    const dataDir = newDir();
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
