/**
 * Jobs waiting out a FloodWait longer than TGLENS_FLOOD_WAIT_MAX. Holding a bus handler for an hour
 * would stall the partition (and, on Kafka, the consumer), so the job is parked instead: its scrape
 * request is written to data/parked/<job>.json with the time it may resume, the handler returns, and
 * a timer re-publishes the request to scrape-topic when the time comes. The files outlive the
 * process, so a restarted scraper re-arms them (`rearm`); a time already past resumes at once.
 *
 * Resuming claims the file first by renaming it (only one of several scraper processes sharing the
 * data directory can win the rename), then publishes, then deletes the claim. A claim left by a
 * process that died in between is taken again after CLAIM_TIMEOUT_MS. Forgetting a chat removes its
 * parked jobs' files (removeParkedJobs): a timer that fires later finds no file and resumes nothing.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Bus } from "../../common/bus.ts";
import { reportJob } from "../../common/jobs.ts";
import type { Logger } from "../../common/logger.ts";
import type { ScrapeRequest } from "../../common/schemas.ts";
import { writeFileAtomic } from "../../common/atomic-file.ts";
import type { Clock } from "./flood-wait.ts";

export interface ParkedScrape {
  request: ScrapeRequest;
  /** ISO 8601. */
  resume_at: string;
  /** The FloodWait that parked it. */
  seconds: number;
}

const CLAIM = ".resuming-";
const CLAIM_TIMEOUT_MS = 60_000;

export function parkedDir(dataDir: string): string {
  return path.join(dataDir, "parked");
}

/** Job ids become file names: keep them to what newJobId makes (and nothing that climbs out). */
function parkedFile(dataDir: string, jobId: string): string {
  return path.join(parkedDir(dataDir), `${encodeURIComponent(jobId)}.json`);
}

/** The names in the parked folder (none when it does not exist yet). */
async function parkedNames(dataDir: string): Promise<string[]> {
  try {
    return await fs.readdir(parkedDir(dataDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** The parked job files (claimed ones included) and what each holds; files that cannot be read are left out. */
async function parkedEntries(dataDir: string): Promise<{ file: string; entry: ParkedScrape }[]> {
  const dir = parkedDir(dataDir);
  const out: { file: string; entry: ParkedScrape }[] = [];
  for (const name of await parkedNames(dataDir)) {
    if (!name.endsWith(".json") && !name.includes(CLAIM)) continue;
    const file = path.join(dir, name);
    try {
      out.push({ file, entry: JSON.parse(await fs.readFile(file, "utf8")) as ParkedScrape });
    } catch {
      // gone meanwhile (resumed), or not ours to read
    }
  }
  return out;
}

/** Removes the parked jobs `matches` picks (a forgotten chat's); how many there were. */
export async function removeParkedJobs(dataDir: string, matches: (request: ScrapeRequest) => boolean): Promise<number> {
  let removed = 0;
  for (const { file, entry } of await parkedEntries(dataDir)) {
    if (!matches(entry.request)) continue;
    await fs.rm(file, { force: true });
    removed++;
  }
  return removed;
}

export class ParkedJobs {
  private readonly dataDir: string;
  private readonly bus: Bus;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly stopping = new AbortController();
  private readonly timers = new Set<Promise<void>>();

  constructor(opts: { dataDir: string; bus: Bus; log: Logger; clock: Clock }) {
    this.dataDir = opts.dataDir;
    this.bus = opts.bus;
    this.log = opts.log;
    this.clock = opts.clock;
  }

  /** Parks a request until `resumeAt` (ms since the epoch): durably first, then the job is told. */
  async park(request: ScrapeRequest, seconds: number, resumeAt: number, cap: number): Promise<void> {
    const entry: ParkedScrape = { request, resume_at: new Date(resumeAt).toISOString(), seconds };
    const file = parkedFile(this.dataDir, request.job_id);
    await fs.mkdir(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(entry) + "\n");
    const note =
      `Telegram asked to wait ${seconds} s (FloodWait), longer than TGLENS_FLOOD_WAIT_MAX=${cap} s: ` + `the job is parked until ${entry.resume_at}`;
    await reportJob(this.bus, request.job_id, {}, { phase: "parked", resume_at: entry.resume_at, note });
    this.log.warn({ job_id: request.job_id, seconds, resume_at: entry.resume_at }, "Telegram FloodWait over the cap: job parked");
    this.arm(file, entry);
  }

  /** Arms a timer for every parked job on disk (at start); returns how many there were. */
  async rearm(): Promise<number> {
    const dir = parkedDir(this.dataDir);
    let armed = 0;
    for (const name of await parkedNames(this.dataDir)) {
      const claimedAt = name.includes(CLAIM) ? Number(name.slice(name.lastIndexOf(CLAIM) + CLAIM.length)) : undefined;
      if (claimedAt !== undefined && !(this.clock.now() - claimedAt > CLAIM_TIMEOUT_MS)) continue;
      if (claimedAt === undefined && !name.endsWith(".json")) continue;
      const file = path.join(dir, name);
      try {
        this.arm(file, JSON.parse(await fs.readFile(file, "utf8")) as ParkedScrape);
        armed++;
      } catch (err) {
        this.log.error({ file, err }, "cannot read a parked job; left in place");
      }
    }
    if (armed > 0) this.log.info({ parked: armed }, "parked jobs re-armed");
    return armed;
  }

  /** Stops the timers; the files stay for the next start. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.timers]);
  }

  private arm(file: string, entry: ParkedScrape): void {
    const wait = Date.parse(entry.resume_at) - this.clock.now();
    const timer = this.clock
      .sleep(Math.max(0, wait), this.stopping.signal)
      .then(() => this.resume(file, entry))
      .catch((err: unknown) => {
        if (!this.stopping.signal.aborted)
          this.log.error({ job_id: entry.request.job_id, err }, "could not resume a parked job; it resumes at the next start");
      })
      .finally(() => this.timers.delete(timer));
    this.timers.add(timer);
  }

  private async resume(file: string, entry: ParkedScrape): Promise<void> {
    const base = file.includes(CLAIM) ? file.slice(0, file.lastIndexOf(CLAIM)) : file;
    const claim = `${base}${CLAIM}${this.clock.now()}`;
    try {
      await fs.rename(file, claim);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // another scraper resumed it
      throw err;
    }
    const jobId = entry.request.job_id;
    // Told first: the resumed read may be parked again at once, and "parked" must come last then.
    await reportJob(this.bus, jobId, {}, { phase: "resumed", note: null });
    await this.bus.publish("scrape-topic", entry.request, { key: jobId });
    await fs.rm(claim, { force: true });
    this.log.info({ job_id: jobId }, "parked job resumed");
  }
}
