/**
 * Job tracking: follows job-topic into a JobBook that outlives the process. Only the scraper opens
 * one: it keeps the book in data/jobs/<role>.sqlite (locked while open) and reads job-topic in a
 * group that stays the same across restarts, so it resumes where it committed. The handler returns
 * only after a batch is in the file, and a redelivered event is recognised by its position and
 * digest, so each counts once. Chat names are never written, so forgetting a chat leaves no trace;
 * what the owner does when a job changes is an `onChange` hook. Why SQLite, and how exactness and
 * forgetting work: docs/architecture.md ("Job tracking").
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Bus, Delivery, Subscription } from "./bus.ts";
import { jobBookFile } from "./data-files.ts";
import { TglensError } from "./errors.ts";
import { JobBook, type ChatForgotten, type CountedIds, type JobBookJournal, type JobState, type JobStatus } from "./jobs.ts";
import type { Logger } from "./logger.ts";
import { MESSAGE_SCHEMA_VERSION, type JobEvent } from "./schemas.ts";

/** Why a job that was running when tglens stopped (in-memory bus) can never finish. */
const INTERRUPTED = {
  code: "TGLENS_NOT_READY",
  message: "tglens stopped before this job finished, and the messages under way were in memory: import it again",
} as const;

/** How many applied events' positions are kept to recognise a redelivery. */
export const APPLIED_KEPT = 20_000;
/** Largest batch of job-topic events handled (and written) at once. */
const BATCH_SIZE = 1000;
const FILE_VERSION = 1;

/** One event applied to a job, as an onChange hook sees it. */
export interface JobChange {
  /** The job after the event (a copy). */
  job: JobStatus;
  event: JobEvent;
  /** The job's state before the event; undefined when the event made the job known. */
  before: JobState | undefined;
}

export interface JobTrackerOptions {
  bus: Bus;
  /** The owner's data directory: the book is data/jobs/<role>.sqlite. */
  dataDir: string;
  /** Who tracks ("scraper", "gateway"): names the file and the consumer group. */
  role: string;
  log: Logger;
  /** Jobs kept, newest first (default JobBook's). */
  capacity?: number;
  onChange?: (change: JobChange) => void | Promise<void>;
  /**
   * Whether jobs the file holds as running can still get their events (default: `bus.durable`). On
   * an in-memory bus they cannot, and are marked failed when the book is loaded.
   */
  unfinishedJobsResume?: boolean;
}

/** What the owner reads and writes of the book: jobs it learns of first (a request) go in with create. */
export type JobBookView = Pick<JobBook, "create" | "get" | "list">;

export interface JobTracker {
  /** The consumer group on job-topic: the same every time this data directory is opened. */
  readonly group: string;
  readonly jobs: JobBookView;
  /** Starts reading job-topic (from where the group committed). */
  follow(): Promise<Subscription>;
  /** Takes a forgotten chat out of the book and its file (JobBook.forgetChat). */
  forgetChat(chatId: string): ChatForgotten;
  /** Stops reading (the batch in flight is written and committed), then closes the file. */
  close(): Promise<void>;
}

type JournalEntry =
  | { kind: "counted"; jobId: string; counter: string; chatId: string; ids: readonly number[] }
  | { kind: "forgot"; jobId: string; why: Parameters<JobBookJournal["forgot"]>[1] }
  | { kind: "scrubbed"; jobId: string; chatId: string };

interface Applied {
  partition: number;
  offset: string;
  digest: string;
}

const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE jobs (job_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, status TEXT NOT NULL) STRICT;
  CREATE TABLE counted (
    job_id TEXT NOT NULL, counter TEXT NOT NULL, chat_id TEXT NOT NULL, message_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, counter, chat_id, message_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE applied (seq INTEGER PRIMARY KEY, part INTEGER NOT NULL, pos TEXT NOT NULL, digest TEXT NOT NULL, UNIQUE (part, pos)) STRICT;
`;

/** Opens (or makes) the role's book in `dataDir` and loads it; reading starts with follow(). */
export function openJobTracker(opts: JobTrackerOptions): JobTracker {
  const file = jobBookFile(opts.dataDir, opts.role);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 1_000 });
  try {
    return new SqliteJobTracker(opts, db, lockAndMigrate(db, file, opts.role));
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Takes the file for this process for as long as it is open, and gives its instance id. */
function lockAndMigrate(db: Database.Database, file: string, role: string): string {
  try {
    db.exec(
      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; BEGIN EXCLUSIVE; COMMIT;",
    );
  } catch (err) {
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    throw new TglensError("TGLENS_CONFIG", `another ${role} process keeps its job book in ${file}: give each ${role} a data directory of its own`);
  }
  const version = db.prepare("PRAGMA user_version").pluck().get() as number;
  if (version > FILE_VERSION) throw new TglensError("TGLENS_CONFIG", `${file} was written by a newer tglens (version ${version})`);
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA);
      db.prepare("INSERT INTO meta (key, value) VALUES ('instance', ?)").run(randomUUID());
      db.exec(`PRAGMA user_version = ${FILE_VERSION}`);
    })();
  }
  return db.prepare("SELECT value FROM meta WHERE key = 'instance'").pluck().get() as string;
}

class SqliteJobTracker implements JobTracker {
  readonly group: string;
  readonly jobs: JobBookView;
  readonly #opts: JobTrackerOptions;
  readonly #db: Database.Database;
  readonly #sql;
  /** What the book did since the last write, in order. */
  #journal: JournalEntry[] = [];
  #book: JobBook;
  #subscription: Subscription | undefined;
  #closed = false;

  constructor(opts: JobTrackerOptions, db: Database.Database, instance: string) {
    this.#opts = opts;
    this.#db = db;
    this.group = `jobs-${opts.role}-${instance}`;
    this.#sql = {
      seen: db.prepare<[number, string], string>("SELECT digest FROM applied WHERE part = ? AND pos = ?").pluck(),
      jobs: db.prepare<[], { status: string }>("SELECT status FROM jobs ORDER BY created_at, rowid"),
      counted: db.prepare<[], [string, string, string, number]>("SELECT job_id, counter, chat_id, message_id FROM counted").raw(),
      count: db.prepare("INSERT OR IGNORE INTO counted (job_id, counter, chat_id, message_id) VALUES (?, ?, ?, ?)"),
      uncount: db.prepare("DELETE FROM counted WHERE job_id = ?"),
      uncountChat: db.prepare("DELETE FROM counted WHERE job_id = ? AND chat_id = ?"),
      drop: db.prepare("DELETE FROM jobs WHERE job_id = ?"),
      upsert: db.prepare(
        "INSERT INTO jobs (job_id, created_at, status) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET status = excluded.status",
      ),
      apply: db.prepare("INSERT OR REPLACE INTO applied (part, pos, digest) VALUES (?, ?, ?)"),
      prune: db.prepare("DELETE FROM applied WHERE seq <= (SELECT MAX(seq) FROM applied) - ?"),
    };
    this.#book = this.#load();
    const current = () => this.#book;
    this.jobs = {
      create: (...args) => current().create(...args),
      get: (jobId) => current().get(jobId),
      list: () => current().list(),
    };
  }

  async follow(): Promise<Subscription> {
    if (this.#closed) throw new TglensError("TGLENS_NOT_READY", "the job tracker is closed");
    if (this.#subscription) throw new Error("the job tracker already follows job-topic");
    const subscription = await this.#opts.bus.subscribe("job-topic", this.group, (batch) => this.#handle(batch), { batchSize: BATCH_SIZE });
    let closing: Promise<void> | undefined;
    this.#subscription = { close: () => (closing ??= subscription.close()) };
    return this.#subscription;
  }

  forgetChat(chatId: string): ChatForgotten {
    if (this.#closed) throw new TglensError("TGLENS_NOT_READY", "the job tracker is closed");
    const result = this.#book.forgetChat(chatId);
    if (result.removed.length + result.scrubbed.length === 0) return result;
    try {
      this.#write(
        result.scrubbed.map((id) => this.#book.get(id)!),
        [],
      );
    } catch (err) {
      this.#book = this.#load();
      throw err;
    }
    // The old rows' pages may still sit in the WAL: write them back (zeroed) and empty it.
    this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#subscription?.close();
    this.#db.close();
  }

  /** The book as the file has it; what the restore pushes out (a smaller capacity) is removed from the file. */
  #load(): JobBook {
    this.#journal = [];
    const journal: JobBookJournal = {
      counted: (jobId, counter, chatId, ids) => this.#journal.push({ kind: "counted", jobId, counter, chatId, ids }),
      forgot: (jobId, why) => this.#journal.push({ kind: "forgot", jobId, why }),
      scrubbed: (jobId, chatId) => this.#journal.push({ kind: "scrubbed", jobId, chatId }),
    };
    const book = new JobBook(this.#opts.capacity, journal);
    const counted = new Map<string, CountedIds>();
    for (const [jobId, counter, chatId, id] of this.#sql.counted.all()) {
      let byCounter = counted.get(jobId);
      if (!byCounter) counted.set(jobId, (byCounter = {}));
      ((byCounter[counter] ??= {})[chatId] ??= []).push(id);
    }
    const interrupted: JobStatus[] = [];
    for (const { status } of this.#sql.jobs.all()) {
      const job = fromFile(status);
      book.restore(job, counted.get(job.job_id));
      // On a bus that ended with the last process, a running job's messages are gone with it. A
      // parked one is not: the scraper keeps it on disk (data/parked/) and re-arms it.
      if (!(this.#opts.unfinishedJobsResume ?? this.#opts.bus.durable) && job.state === "running") {
        book.apply({ v: MESSAGE_SCHEMA_VERSION, job_id: job.job_id, add: {}, phase: "failed", error: INTERRUPTED });
        interrupted.push(book.get(job.job_id)!);
      }
    }
    this.#write(interrupted, []);
    return book;
  }

  async #handle(batch: Delivery<"job-topic">[]): Promise<void> {
    if (this.#closed) throw new TglensError("TGLENS_NOT_READY", "the job tracker is closed");
    const changes: JobChange[] = [];
    const applied: Applied[] = [];
    const touched = new Set<string>();
    // From the first event to the write, nothing awaits: batches of other partitions cannot interleave.
    for (const { message, meta } of batch) {
      const digest = createHash("sha1").update(JSON.stringify(message)).digest("base64url");
      if (this.#sql.seen.get(meta.partition, meta.offset) === digest) continue;
      const before = this.#book.get(message.job_id)?.state;
      this.#book.apply(message);
      applied.push({ partition: meta.partition, offset: meta.offset, digest });
      touched.add(message.job_id);
      const job = this.#book.get(message.job_id);
      if (job && this.#opts.onChange) changes.push({ job: structuredClone(job), event: message, before });
    }
    try {
      this.#write(
        [...touched].flatMap((id) => this.#book.get(id) ?? []),
        applied,
      );
    } catch (err) {
      // The book in memory is ahead of the file: go back to the file, and the bus delivers the batch again.
      this.#book = this.#load();
      throw err;
    }
    for (const change of changes) {
      try {
        await this.#opts.onChange!(change);
      } catch (err) {
        this.#opts.log.warn({ err, job_id: change.job.job_id }, "a job change hook failed");
      }
    }
  }

  /** One transaction: what the journal says, the jobs the batch changed, and where the batch was. */
  #write(jobs: readonly JobStatus[], applied: readonly Applied[]): void {
    const sql = this.#sql;
    const journal = this.#journal;
    this.#db.transaction(() => {
      for (const entry of journal) {
        if (entry.kind === "counted") {
          for (const id of entry.ids) sql.count.run(entry.jobId, entry.counter, entry.chatId, id);
          continue;
        }
        if (entry.kind === "scrubbed") {
          sql.uncountChat.run(entry.jobId, entry.chatId);
          continue;
        }
        sql.uncount.run(entry.jobId);
        if (entry.why !== "finished") sql.drop.run(entry.jobId);
      }
      for (const job of jobs) sql.upsert.run(job.job_id, job.created_at, toFile(job));
      for (const a of applied) sql.apply.run(a.partition, a.offset, a.digest);
      if (applied.length > 0) sql.prune.run(APPLIED_KEPT);
    })();
    this.#journal = [];
  }
}

/** A job as the file keeps it: its chats without what names them (docs/architecture.md, "Job tracking"). */
function toFile(job: JobStatus): string {
  return JSON.stringify({ ...job, chats: job.chats.map(({ id, type }) => ({ id, type })) });
}

function fromFile(text: string): JobStatus {
  const job = JSON.parse(text) as JobStatus;
  job.chats = job.chats.map(({ id, type }) => ({ id, name: "", type }));
  return job;
}
