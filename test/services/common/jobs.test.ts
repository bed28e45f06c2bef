import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobBook, jobOfDeadLetter } from "../../../services/common/jobs.ts";

const event = (add: Record<string, number>, extra = {}) => ({ v: 1 as const, job_id: "j1", add, ...extra });

describe("job book", () => {
  it("is done when everything scraped was stored or dropped as empty", () => {
    const book = new JobBook();
    book.create("j1", "upload", 10);
    book.apply(event({ scraped: 10, skipped: 2 }));
    book.apply(event({ cleaned: 8, dropped: 2 }));
    book.apply(event({ embedded: 8 }));
    book.apply(event({ stored: 7 }));
    assert.equal(book.get("j1")!.state, "running");
    book.apply(event({ stored: 1 }));
    const job = book.get("j1")!;
    assert.equal(job.state, "done");
    assert.deepEqual(job.counters, { scraped: 10, skipped: 2, cleaned: 8, dropped: 2, embedded: 8, stored: 8, failed: 0, replaced: 0 });
    assert.equal(job.error, null);
    assert.ok(job.finished_at);
  });

  it("ends partial, not done, when some messages failed: the count and the first errors", () => {
    const book = new JobBook();
    book.create("j1", "upload", 10);
    book.apply(event({ scraped: 10 }));
    book.apply(event({ stored: 3 }));
    const why = (id: number) => ({ chat_id: "5", message_id: id, code: "TGLENS_SCHEMA", message: `store batch item 0: message ${id} is bad` });
    for (let id = 1; id <= 7; id++) book.apply(event({ failed: 1 }, { ids: { failed: { "5": [id] } }, errors: [why(id)] }));
    const job = book.get("j1")!;
    assert.equal(job.state, "partial");
    assert.equal(job.counters.failed, 7);
    assert.match(job.error!.message, /^7 of 10 messages could not be stored; first: store batch item 0: message 1 is bad$/);
    assert.equal(job.error!.code, "TGLENS_SCHEMA");
    assert.deepEqual(job.errors, [1, 2, 3, 4, 5].map(why), "the first five");
    assert.ok(job.finished_at);
  });

  it("ends failed when every message failed", () => {
    const book = new JobBook();
    book.create("j1", "upload", 2);
    book.apply(event({ scraped: 2 }));
    book.apply(event({ failed: 2 }, { errors: [{ chat_id: null, message_id: null, code: "TGLENS_INTERNAL", message: "disk full" }] }));
    const job = book.get("j1")!;
    assert.equal(job.state, "failed");
    assert.match(job.error!.message, /2 of 2 messages could not be stored; first: disk full/);
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
    assert.deepEqual(
      book.list().map((j) => j.job_id),
      ["c", "b"],
    );
  });

  it("finds the job of a dead letter, and its message when the payload names one", () => {
    const letter = { topic: "t", partition: 0, offset: "1", key: "k", error: { code: "X", message: "m" }, attempts: 1, failed_at: "" };
    assert.deepEqual(jobOfDeadLetter({ ...letter, payload: JSON.stringify({ job_id: "j9" }) }), { jobId: "j9" });
    assert.deepEqual(jobOfDeadLetter({ ...letter, payload: JSON.stringify({ job_id: "j9", chat: { id: "5" }, message_id: 7 }) }), {
      jobId: "j9",
      ref: { job_id: "j9", chat: { id: "5" }, message_id: 7 },
    });
    assert.equal(jobOfDeadLetter({ ...letter, payload: "not json" }), undefined);
    assert.equal(jobOfDeadLetter({ ...letter, payload: JSON.stringify({ job_id: 3 }) }), undefined);
  });

  it("counts a redelivered batch once when the events name their messages", () => {
    const book = new JobBook();
    book.create("j1", "upload", 4);
    const ids = (counter: string, chat: string, list: number[]) => ({ ids: { [counter]: { [chat]: list } } });
    book.apply(event({ scraped: 4 }, ids("scraped", "c", [1, 2, 3, 4])));
    book.apply(event({ stored: 2 }, ids("stored", "c", [1, 2])));
    // The storage crashed after reporting, before committing: the same batch comes again.
    book.apply(event({ stored: 2 }, ids("stored", "c", [1, 2])));
    book.apply(event({ stored: 1 }, ids("stored", "c", [3])));
    let job = book.get("j1")!;
    assert.equal(job.counters.stored, 3);
    assert.equal(job.state, "running", "three distinct of four stored is not done");
    // The same message id in another chat is another message.
    book.apply(event({ stored: 1 }, ids("stored", "d", [3])));
    job = book.get("j1")!;
    assert.equal(job.counters.stored, 4);
    assert.equal(job.state, "done");
    // Once done, late redeliveries no longer move the counters.
    book.apply(event({ stored: 2 }, ids("stored", "c", [5, 6])));
    assert.equal(book.get("j1")!.counters.stored, 4);
  });

  it("adds the unlisted part of an increment as is", () => {
    const book = new JobBook();
    book.create("j1", "upload", null);
    book.apply(event({ skipped: 3 }, { ids: { skipped: { c: [1] } } }));
    book.apply(event({ skipped: 3 }, { ids: { skipped: { c: [1] } } }));
    assert.equal(book.get("j1")!.counters.skipped, 1 + 2 + 2);
  });

  it("rebuilds a job from its queued event, in whatever order the local create comes", () => {
    const book = new JobBook();
    book.apply(event({}, { phase: "queued", source: "team.json", expected: 2, chats: [{ id: "c", name: "Team", type: "private_group" }] }));
    book.apply(event({ scraped: 2, stored: 2 }));
    const job = book.get("j1")!;
    assert.equal(job.source, "team.json");
    assert.equal(job.expected, 2);
    assert.equal(job.state, "done");
    assert.deepEqual(
      job.chats.map((c) => c.id),
      ["c"],
    );
    const again = book.create("j1", "other", 9);
    assert.equal(again, job, "a local create of a known job keeps what the events said");
    assert.equal(again.source, "team.json");
    assert.equal(again.expected, 2);
  });
});
