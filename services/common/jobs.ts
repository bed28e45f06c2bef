/**
 * Import jobs. Every stage reports what it did for a job as increments on job-topic (one event per
 * batch, not per message); the job book folds them into a status. Because the counters travel over
 * the bus, a job is tracked the same way whether the stages share a process or not.
 */
import { randomUUID } from "node:crypto";
import type { Bus } from "./bus.ts";
import { JOB_COUNTERS, SCHEMA_VERSION, type ChatRef, type DeadLetter, type JobCounter, type JobEvent } from "./schemas.ts";

export type JobState = "running" | "done" | "failed";

export interface JobStatus {
  job_id: string;
  state: JobState;
  source: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** Messages the source holds, when known up front (exports are counted before import). */
  expected: number | null;
  counters: Record<JobCounter, number>;
  chats: ChatRef[];
  error: { code: string; message: string } | null;
}

export function newJobId(): string {
  return randomUUID();
}

export function emptyCounters(): Record<JobCounter, number> {
  return Object.fromEntries(JOB_COUNTERS.map((c) => [c, 0])) as Record<JobCounter, number>;
}

/** Publishes counter increments for a job (skips empty reports). */
export async function reportJob(
  bus: Bus,
  jobId: string,
  add: Partial<Record<JobCounter, number>>,
  extra: Pick<JobEvent, "phase" | "error" | "chats"> = {},
): Promise<void> {
  const moved = Object.fromEntries(Object.entries(add).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number>;
  if (Object.keys(moved).length === 0 && !extra.phase && !extra.chats) return;
  await bus.publish("job-topic", { v: SCHEMA_VERSION, job_id: jobId, add: moved, ...extra }, { key: jobId });
}

/** Counts all messages of each job in a batch, for one report per job. */
export function countByJob(messages: readonly { job_id: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.job_id, (counts.get(m.job_id) ?? 0) + 1);
  return counts;
}

/** The job id inside a dead-lettered payload, if it has one. */
export function jobIdOfDeadLetter(letter: DeadLetter): string | undefined {
  try {
    const id = (JSON.parse(letter.payload) as { job_id?: unknown }).job_id;
    return typeof id === "string" && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Folds job events into job statuses. Keeps the most recent `capacity` jobs. */
export class JobBook {
  private readonly jobs = new Map<string, JobStatus>();
  private readonly capacity: number;

  constructor(capacity = 1000) {
    this.capacity = capacity;
  }

  create(jobId: string, source: string, expected: number | null, chats: ChatRef[] = []): JobStatus {
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
      chats,
      error: null,
    };
    this.jobs.set(jobId, job);
    while (this.jobs.size > this.capacity) this.jobs.delete(this.jobs.keys().next().value!);
    return job;
  }

  get(jobId: string): JobStatus | undefined {
    return this.jobs.get(jobId);
  }

  list(): JobStatus[] {
    return [...this.jobs.values()].reverse();
  }

  apply(event: JobEvent): void {
    const job = this.jobs.get(event.job_id) ?? this.create(event.job_id, "unknown", null);
    for (const [counter, n] of Object.entries(event.add)) {
      if ((JOB_COUNTERS as readonly string[]).includes(counter)) job.counters[counter as JobCounter] += n;
    }
    if (event.chats) {
      for (const chat of event.chats) if (!job.chats.some((c) => c.id === chat.id)) job.chats.push(chat);
    }
    if (event.phase === "failed") {
      job.state = "failed";
      job.error = event.error ?? { code: "TGLENS_INTERNAL", message: "the source failed" };
    }
    if (event.phase === "scraped" && job.expected === null) job.expected = job.counters.scraped;
    job.updated_at = new Date().toISOString();
    const c = job.counters;
    const settled = c.stored + c.dropped + c.failed;
    const scrapedAll = job.expected !== null && c.scraped >= job.expected;
    if (job.state === "running" && scrapedAll && settled >= c.scraped) {
      job.state = "done";
      job.finished_at = job.updated_at;
    }
  }
}
