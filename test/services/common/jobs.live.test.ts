/** The job book's view of a live read that waits for Telegram: sleeping in place, parked, resumed. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobBook } from "../../../services/common/jobs.ts";
import type { JobEvent } from "../../../services/common/schemas.ts";

const event = (extra: Partial<JobEvent> = {}, add: Record<string, number> = {}): JobEvent => ({ v: 1, job_id: "j1", add, ...extra });
const AT = "2025-01-01T01:00:01.000Z";

describe("job states of a live read", () => {
  it("shows a FloodWait slept in place as resume_at and a note, and clears them after", () => {
    const book = new JobBook();
    book.create("j1", "telegram:@x", null);
    book.apply(event({ resume_at: AT, note: "Telegram asked to wait 30 s" }));
    assert.deepEqual([book.get("j1")!.state, book.get("j1")!.resume_at, book.get("j1")!.note], ["running", AT, "Telegram asked to wait 30 s"]);
    book.apply(event({ resume_at: null, note: null }));
    assert.deepEqual([book.get("j1")!.resume_at, book.get("j1")!.note], [null, null]);
  });

  it("is parked until resumed, counting what arrives meanwhile, and is done only after", () => {
    const book = new JobBook();
    book.create("j1", "telegram:@x", null);
    book.apply(event({}, { scraped: 2 }));
    book.apply(event({ phase: "parked", resume_at: AT, note: "parked" }));
    book.apply(event({}, { stored: 2 }));
    assert.deepEqual([book.get("j1")!.state, book.get("j1")!.resume_at, book.get("j1")!.counters.stored], ["parked", AT, 2]);
    book.apply(event({ phase: "resumed", note: null }));
    assert.deepEqual([book.get("j1")!.state, book.get("j1")!.resume_at, book.get("j1")!.note], ["running", null, null]);
    book.apply(event({}, { scraped: 1 }));
    book.apply(event({ phase: "scraped" }));
    assert.equal(book.get("j1")!.state, "running");
    book.apply(event({}, { stored: 1 }));
    assert.equal(book.get("j1")!.state, "done");
  });

  it("fails a parked job that fails, without its wait", () => {
    const book = new JobBook();
    book.create("j1", "telegram:@x", null);
    book.apply(event({ phase: "parked", resume_at: AT }));
    book.apply(event({ phase: "failed", error: { code: "TGLENS_CHAT_NOT_FOUND", message: "gone" } }));
    assert.deepEqual([book.get("j1")!.state, book.get("j1")!.resume_at, book.get("j1")!.error?.code], ["failed", null, "TGLENS_CHAT_NOT_FOUND"]);
  });
});
