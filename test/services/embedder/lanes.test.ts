/**
 * The lane scheduler alone, with jobs whose steps record when they run: a query queued while a bulk
 * job is under way runs before the bulk job's next step, jobs in one lane keep their order, and a
 * failing step fails only its own job.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LaneScheduler, type SteppedJob } from "../../../services/embedder/lanes.ts";

/** A job of `steps` steps, each logging `name:i` into `log`; its result is its name. */
function job(name: string, steps: number, log: string[], failAt?: number): SteppedJob<string> {
  let done = 0;
  return {
    async step() {
      if (done === failAt) throw new Error(`${name} failed`);
      log.push(`${name}:${done++}`);
      return done === steps;
    },
    result: () => name,
  };
}

describe("lane scheduler", () => {
  it("runs a query that arrives during a bulk job before the bulk job's next step", async () => {
    const s = new LaneScheduler();
    const log: string[] = [];
    const bulk = s.run("bulk", job("bulk", 5, log));
    // Let the bulk job take its first step, then queue a query.
    await new Promise((r) => setImmediate(r));
    const query = s.run("query", job("query", 2, log));
    assert.deepEqual(await Promise.all([bulk, query]), ["bulk", "query"]);
    const firstQuery = log.indexOf("query:0");
    assert.ok(firstQuery > 0 && firstQuery <= 2, `the query waited for at most one bulk step: ${log.join(" ")}`);
    assert.ok(log.indexOf("query:1") < log.indexOf("bulk:4"), log.join(" "));
    assert.equal(log.length, 7);
  });

  it("keeps arrival order within a lane, each job to its end", async () => {
    const s = new LaneScheduler();
    const log: string[] = [];
    await Promise.all([s.run("bulk", job("a", 2, log)), s.run("bulk", job("b", 2, log))]);
    assert.deepEqual(log, ["a:0", "a:1", "b:0", "b:1"]);
  });

  it("fails only the job whose step threw; the next job runs", async () => {
    const s = new LaneScheduler();
    const log: string[] = [];
    const bad = s.run("bulk", job("bad", 3, log, 1));
    const good = s.run("bulk", job("good", 1, log));
    await assert.rejects(bad, /bad failed/);
    assert.equal(await good, "good");
    await s.idle();
    assert.equal(s.pending("bulk"), 0);
    assert.deepEqual(log, ["bad:0", "good:0"]);
  });
});
