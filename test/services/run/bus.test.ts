/**
 * Dead letters from any stage reach their job: a message that failed every attempt counts as
 * failed with its error (so the job ends partial or failed, never done), and a scrape request that
 * failed every attempt fails its job.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createBus } from "../../../services/run/bus.ts";
import { JobBook } from "../../../services/common/jobs.ts";
import { createLogger } from "../../../services/common/logger.ts";
import type { JobEvent } from "../../../services/common/schemas.ts";
import { axis, embeddedRecord } from "../../helpers/records.ts";
import { testConfig } from "../../helpers/system.ts";

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("dead letters and jobs", () => {
  it("a dead-lettered message fails its job with the message's id and error; a dead-lettered scrape request fails its job", async () => {
    const config = await testConfig({ TGLENS_MAX_ATTEMPTS: "1" });
    const bus = await createBus("memory", config, createLogger({ level: "silent" }));
    const events: JobEvent[] = [];
    const book = new JobBook();
    await bus.subscribe("job-topic", "test", async (batch) => {
      for (const { message } of batch) {
        events.push(message);
        book.apply(message);
      }
    });
    await bus.subscribe("store-topic", "storage", async () => {
      throw new Error("disk on fire");
    });
    await bus.subscribe("scrape-topic", "scraper", async () => {
      throw new Error("export vanished");
    });
    book.create("j1", "upload", 1);
    await bus.publish("store-topic", embeddedRecord("-1005", -7, axis(7), { job_id: "j1" }), { key: "-1005" });
    book.apply({ v: 1, job_id: "j1", add: { scraped: 1 }, ids: { scraped: { "-1005": [-7] } } });
    await until(() => book.get("j1")!.state !== "running", "job j1 to finish");
    const job = book.get("j1")!;
    assert.equal(job.state, "failed", "nothing was stored");
    assert.equal(job.counters.failed, 1);
    assert.deepEqual(job.errors, [{ chat_id: "-1005", message_id: -7, code: "TGLENS_INTERNAL", message: "disk on fire" }]);

    book.create("j2", "upload", 10);
    await bus.publish("scrape-topic", { v: 1, job_id: "j2", source: { kind: "export", path: "/nowhere/result.json" } }, { key: "j2" });
    await until(() => book.get("j2")!.state !== "running", "job j2 to fail");
    assert.equal(book.get("j2")!.state, "failed");
    assert.equal(book.get("j2")!.error!.message, "export vanished");
    assert.equal(book.get("j2")!.counters.failed, 0, "a failed source is not a failed message");
    await bus.close();
  });
});
