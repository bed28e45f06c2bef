/**
 * Import jobs. Every stage reports what it did for a job as increments on job-topic (one event per
 * batch, not per message); the job book folds them into a status. Because the counters travel over
 * the bus, a job is tracked the same way whether the stages share a process or not.
 * JobStatusSchema is the one definition of a job status: the scraper answers with it, the gateway
 * documents it, and the API client's type is derived from it.
 */
import { Type, type Static, type TInteger } from "@sinclair/typebox";
import type { Bus } from "./bus.ts";
import {
  ChatRef,
  JOB_COUNTERS,
  JobError,
  MESSAGE_SCHEMA_VERSION,
  type DeadLetter,
  type JobCounter,
  type JobEvent,
  type MessageIds,
} from "./schemas.ts";

/**
 * `parked`: a live read waits out a long Telegram FloodWait; it resumes at `resume_at`.
 * `done`: every message was stored (or dropped as empty after cleaning). `partial`: finished, but
 * some messages failed (`counters.failed`, the first of them in `errors`). `failed`: the source
 * failed, or no message could be stored.
 */
export const JOB_STATES = ["running", "parked", "done", "partial", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A finished job (done, partial or failed) changes no more: whoever waits for it can stop. */
export function isFinished(state: string): boolean {
  return state === "done" || state === "partial" || state === "failed";
}

/** How many failed messages a job names in `errors`. */
export const JOB_ERRORS_SHOWN = 5;

/** A job as the scraper's `GET /jobs/:id` (and the gateway's `/api/jobs/:id`) answers it: the one definition of a job status. */
export const JobStatusSchema = Type.Object({
  job_id: Type.String(),
  state: Type.Union(
    JOB_STATES.map((s) => Type.Literal(s)),
    {
      description:
        "running; parked (waiting out a long Telegram FloodWait until resume_at); done (every message stored or dropped as empty); " +
        "partial (finished, but counters.failed messages failed: see error and errors); failed (the source failed, or no message could be stored)",
    },
  ),
  source: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  finished_at: Type.Union([Type.String(), Type.Null()]),
  expected: Type.Union([Type.Integer(), Type.Null()], {
    description: "messages the source holds, when known up front (exports are counted before import)",
  }),
  counters: Type.Object(Object.fromEntries(JOB_COUNTERS.map((c) => [c, Type.Integer()])) as Record<JobCounter, TInteger>, {
    description:
      "messages per stage: scraped, skipped (service messages), cleaned, dropped (empty once cleaned), embedded, stored, failed, " +
      "replaced (repeated ids)",
  }),
  chats: Type.Array(ChatRef),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], {
    description: "why the job failed, or for a partial job how many messages failed",
  }),
  errors: Type.Array(JobError, { description: `the first messages that failed (at most ${JOB_ERRORS_SHOWN}), and why` }),
  resume_at: Type.Union([Type.String(), Type.Null()], { description: "when a live read waiting for Telegram (FloodWait) resumes" }),
  note: Type.Union([Type.String(), Type.Null()], { description: "what the source is doing, e.g. why it waits" }),
});
export type JobStatus = Static<typeof JobStatusSchema>;

export function newJobId(): string {
  return crypto.randomUUID();
}

export function emptyCounters(): Record<JobCounter, number> {
  return Object.fromEntries(JOB_COUNTERS.map((c) => [c, 0])) as Record<JobCounter, number>;
}

/** Publishes counter increments for a job that are not tied to messages (skips empty reports). */
export async function reportJob(
  bus: Bus,
  jobId: string,
  add: Partial<Record<JobCounter, number>>,
  extra: Pick<JobEvent, "phase" | "error" | "errors" | "chats" | "source" | "expected" | "resume_at" | "note"> = {},
): Promise<void> {
  const moved = Object.fromEntries(Object.entries(add).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number>;
  if (Object.keys(moved).length === 0 && !extra.phase && !extra.chats && !extra.errors && extra.resume_at === undefined && extra.note === undefined)
    return;
  await bus.publish("job-topic", { v: MESSAGE_SCHEMA_VERSION, job_id: jobId, add: moved, ...extra }, { key: jobId });
}

/** What a stage knows of a message it handled: enough to count it once per job. */
export interface MessageRef {
  job_id: string;
  chat: { id: string };
  message_id: number;
}

/**
 * Reports the messages each counter moved for, one event per job, with their ids, so that a batch
 * handled twice (a crash between the report and the offset commit) still counts once.
 */
export async function reportMessages(bus: Bus, moved: Partial<Record<JobCounter, readonly MessageRef[]>>, errors?: JobError[]): Promise<void> {
  const events = new Map<string, { add: Record<string, number>; ids: Record<string, MessageIds> }>();
  for (const [counter, refs] of Object.entries(moved)) {
    for (const ref of refs ?? []) {
      let event = events.get(ref.job_id);
      if (!event) events.set(ref.job_id, (event = { add: {}, ids: {} }));
      event.add[counter] = (event.add[counter] ?? 0) + 1;
      ((event.ids[counter] ??= {})[ref.chat.id] ??= []).push(ref.message_id);
    }
  }
  for (const [jobId, { add, ids }] of events) {
    await bus.publish("job-topic", { v: MESSAGE_SCHEMA_VERSION, job_id: jobId, add, ids, ...(errors ? { errors } : {}) }, { key: jobId });
  }
}

/**
 * The job a dead-lettered payload belonged to, and which message it was when the payload says so
 * (a payload that failed its schema may not).
 */
export function jobOfDeadLetter(letter: DeadLetter): { jobId: string; ref?: MessageRef } | undefined {
  let payload: { job_id?: unknown; chat?: { id?: unknown }; message_id?: unknown };
  try {
    payload = JSON.parse(letter.payload) as typeof payload;
  } catch {
    return undefined;
  }
  const jobId = payload?.job_id;
  if (typeof jobId !== "string" || jobId.length === 0) return undefined;
  const chatId = payload.chat?.id;
  const messageId = payload.message_id;
  if (typeof chatId === "string" && Number.isSafeInteger(messageId)) {
    return { jobId, ref: { job_id: jobId, chat: { id: chatId }, message_id: messageId as number } };
  }
  return { jobId };
}

/** The message ids a job has counted, per counter and chat: what restore() takes back. */
export type CountedIds = Record<string, MessageIds>;

/**
 * What a JobBook tells as it changes, so that a copy of it on disk can follow with small writes
 * (services/common/job-tracker.ts) instead of rewriting the book.
 */
export interface JobBookJournal {
  /** `ids` of chat `chatId` were counted under `counter` for the first time. */
  counted(jobId: string, counter: string, chatId: string, ids: readonly number[]): void;
  /**
   * The job's counted ids were let go: it finished, or it was pushed out of the book or named only
   * a chat that was forgotten (then the job is gone).
   */
  forgot(jobId: string, why: "finished" | "evicted" | "chat-forgotten"): void;
  /** A forgotten chat was taken out of a job that names other chats too: its counted ids go. */
  scrubbed(jobId: string, chatId: string): void;
}

/** What JobBook.forgetChat did: jobs removed (they named only the chat) and jobs the chat was taken out of. */
export interface ChatForgotten {
  removed: string[];
  scrubbed: string[];
}

/**
 * Folds job events into job statuses. Keeps the most recent `capacity` jobs. Counters count
 * distinct messages where the event names them (see JobEvent.ids); the ids a job has seen are
 * dropped when it is done, after which its counters no longer move (later events can only be
 * redeliveries).
 */
export class JobBook {
  private readonly jobs = new Map<string, JobStatus>();
  /** job id → counter → chat id → message ids already counted. */
  private readonly seen = new Map<string, Map<string, Map<string, Set<number>>>>();
  private readonly capacity: number;
  private readonly journal: JobBookJournal | undefined;

  constructor(capacity = 1000, journal?: JobBookJournal) {
    this.capacity = capacity;
    this.journal = journal;
  }

  /** Puts back a job as it was (a book kept on disk), with the ids it had counted, as the newest so far. */
  restore(job: JobStatus, counted: CountedIds = {}): void {
    this.jobs.delete(job.job_id);
    this.seen.delete(job.job_id);
    const byCounter = new Map<string, Map<string, Set<number>>>();
    for (const [counter, chats] of Object.entries(counted)) {
      byCounter.set(counter, new Map(Object.entries(chats).map(([chatId, ids]) => [chatId, new Set(ids)])));
    }
    if (byCounter.size > 0) this.seen.set(job.job_id, byCounter);
    this.admit(job);
  }

  create(jobId: string, source: string, expected: number | null, chats: ChatRef[] = []): JobStatus {
    const existing = this.jobs.get(jobId);
    if (existing) {
      // Events may arrive before or after the local create (a restarted process replays job-topic).
      if (existing.source === "unknown") existing.source = source;
      if (existing.expected === null) existing.expected = expected;
      for (const chat of chats) if (!existing.chats.some((c) => c.id === chat.id)) existing.chats.push(chat);
      return existing;
    }
    const now = new Date().toISOString();
    const job: JobStatus = {
      job_id: jobId,
      state: "running",
      source,
      created_at: now,
      updated_at: now,
      finished_at: null,
      expected,
      counters: emptyCounters(),
      chats: [...chats],
      error: null,
      errors: [],
      resume_at: null,
      note: null,
    };
    this.admit(job);
    return job;
  }

  /** Adds a job as the newest, pushing the oldest out past `capacity`. */
  private admit(job: JobStatus): void {
    this.jobs.set(job.job_id, job);
    while (this.jobs.size > this.capacity) {
      const oldest = this.jobs.keys().next().value!;
      this.jobs.delete(oldest);
      this.forget(oldest, "evicted");
    }
  }

  private forget(jobId: string, why: "finished" | "evicted" | "chat-forgotten"): void {
    this.seen.delete(jobId);
    this.journal?.forgot(jobId, why);
  }

  /**
   * Forgets a chat: a job that names only this chat (in its chats, errors or counted ids) is
   * removed, and the chat is taken out of a job that names others too (its counters stay: numbers
   * name nothing).
   */
  forgetChat(chatId: string): ChatForgotten {
    const result: ChatForgotten = { removed: [], scrubbed: [] };
    for (const job of [...this.jobs.values()]) {
      const named = new Set([...job.chats.map((c) => c.id), ...job.errors.flatMap((e) => e.chat_id ?? [])]);
      for (const byChat of this.seen.get(job.job_id)?.values() ?? []) for (const id of byChat.keys()) named.add(id);
      if (!named.has(chatId)) continue;
      if (named.size === 1) {
        this.jobs.delete(job.job_id);
        this.forget(job.job_id, "chat-forgotten");
        result.removed.push(job.job_id);
        continue;
      }
      job.chats = job.chats.filter((c) => c.id !== chatId);
      job.errors = job.errors.filter((e) => e.chat_id !== chatId);
      for (const byChat of this.seen.get(job.job_id)?.values() ?? []) byChat.delete(chatId);
      this.journal?.scrubbed(job.job_id, chatId);
      result.scrubbed.push(job.job_id);
    }
    return result;
  }

  get(jobId: string): JobStatus | undefined {
    return this.jobs.get(jobId);
  }

  list(): JobStatus[] {
    return [...this.jobs.values()].reverse();
  }

  apply(event: JobEvent): void {
    const job =
      event.phase === "queued"
        ? this.create(event.job_id, event.source ?? "unknown", event.expected ?? null, event.chats)
        : (this.jobs.get(event.job_id) ?? this.create(event.job_id, "unknown", null));
    if (job.state !== "done" && job.state !== "partial") {
      for (const [counter, n] of Object.entries(event.add)) {
        if (!(JOB_COUNTERS as readonly string[]).includes(counter)) continue;
        job.counters[counter as JobCounter] += this.fresh(job.job_id, counter, n, event.ids?.[counter]);
      }
    }
    if (event.chats) {
      for (const chat of event.chats) if (!job.chats.some((c) => c.id === chat.id)) job.chats.push(chat);
    }
    if (event.resume_at !== undefined) job.resume_at = event.resume_at;
    if (event.note !== undefined) job.note = event.note;
    if (event.phase === "parked" && job.state === "running") job.state = "parked";
    if (event.phase === "resumed" && job.state === "parked") job.state = "running";
    if (event.phase === "resumed" || event.phase === "failed") job.resume_at = null;
    for (const e of event.errors ?? []) {
      if (job.errors.length >= JOB_ERRORS_SHOWN) break;
      if (!job.errors.some((x) => x.chat_id === e.chat_id && x.message_id === e.message_id && x.code === e.code)) job.errors.push(e);
    }
    if (event.phase === "failed") {
      job.state = "failed";
      job.error = event.error ?? { code: "TGLENS_INTERNAL", message: "the source failed" };
      job.finished_at ??= new Date().toISOString();
    }
    if (event.phase === "scraped" && job.expected === null) job.expected = job.counters.scraped;
    job.updated_at = new Date().toISOString();
    const c = job.counters;
    const settled = c.stored + c.dropped + c.failed;
    const scrapedAll = job.expected !== null && c.scraped >= job.expected;
    if (job.state === "running" && scrapedAll && settled >= c.scraped) {
      job.finished_at = job.updated_at;
      this.forget(job.job_id, "finished");
      if (c.failed === 0) {
        job.state = "done";
      } else {
        const first = job.errors[0];
        const why = first ? `; first: ${first.message}` : "";
        job.state = c.stored + c.dropped === 0 ? "failed" : "partial";
        job.error = { code: first?.code ?? "TGLENS_INTERNAL", message: `${c.failed} of ${c.scraped} messages could not be stored${why}` };
      }
    }
  }

  /** How much of an increment of `n` is new: listed ids not counted before, plus any unlisted rest. */
  private fresh(jobId: string, counter: string, n: number, listed: MessageIds | undefined): number {
    if (!listed) return n;
    let byCounter = this.seen.get(jobId);
    if (!byCounter) this.seen.set(jobId, (byCounter = new Map()));
    let byChat = byCounter.get(counter);
    if (!byChat) byCounter.set(counter, (byChat = new Map()));
    let listedCount = 0;
    let fresh = 0;
    for (const [chatId, ids] of Object.entries(listed)) {
      let set = byChat.get(chatId);
      if (!set) byChat.set(chatId, (set = new Set()));
      const added: number[] = [];
      for (const id of ids) {
        listedCount++;
        if (set.has(id)) continue;
        set.add(id);
        added.push(id);
      }
      fresh += added.length;
      if (added.length > 0) this.journal?.counted(jobId, counter, chatId, added);
    }
    return fresh + Math.max(0, n - listedCount);
  }
}
