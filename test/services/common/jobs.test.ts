import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobBook, jobIdOfDeadLetter } from "../../../services/common/jobs.ts";

const event = (add: Record<string, number>, extra = {}) => ({ v: 1 as const, job_id: "j1", add, ...extra });

describe("job book", () => {
  it("is done when everything scraped was stored, dropped or failed", () => {
    const book = new JobBook();
    book.create("j1", "upload", 10);
    book.apply(event({ scraped: 10, skipped: 2 }));
    book.apply(event({ cleaned: 8, dropped: 2 }));
    book.apply(event({ embedded: 8 }));
    book.apply(event({ stored: 7 }));
    assert.equal(book.get("j1")!.state, "running");
    book.apply(event({ failed: 1 }));
    const job = book.get("j1")!;
    assert.equal(job.state, "done");
    assert.deepEqual(job.counters, { scraped: 10, skipped: 2, cleaned: 8, dropped: 2, embedded: 8, stored: 7, failed: 1 });
    assert.ok(job.finished_at);
  });

  it("is not done before the scraper has read everything", () => {
    const book = new JobBook();
    book.create("j1", "upload", null);
    book.apply(event({ scraped: 5 }));
    book.apply(event({ stored: 5 }));
    assert.equal(book.get("j1")!.state, "running");
    book.apply(event({}, { phase: "scraped" }));
    assert.equal(book.get("j1")!.state, "done");
  });

  it("records a failed source with its error", () => {
    const book = new JobBook();
    book.create("j1", "upload", 3);
    book.apply(event({}, { phase: "failed", error: { code: "TGLENS_BAD_JSON", message: "truncated" } }));
    assert.equal(book.get("j1")!.state, "failed");
    assert.equal(book.get("j1")!.error!.code, "TGLENS_BAD_JSON");
  });

  it("keeps only the most recent jobs", () => {
    const book = new JobBook(2);
    for (const id of ["a", "b", "c"]) book.create(id, "x", 1);
    assert.deepEqual(book.list().map((j) => j.job_id), ["c", "b"]);
  });

  it("finds the job of a dead letter, if it has one", () => {
    const letter = { topic: "t", partition: 0, offset: "1", key: "k", error: { code: "X", message: "m" }, attempts: 1, failed_at: "" };
    assert.equal(jobIdOfDeadLetter({ ...letter, payload: JSON.stringify({ job_id: "j9" }) }), "j9");
    assert.equal(jobIdOfDeadLetter({ ...letter, payload: "not json" }), undefined);
  });
});
