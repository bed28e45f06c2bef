/**
 * The scraper's live Telegram side: what `POST /scrape {chat}` checks and what scrape-topic's
 * `telegram` requests run. The client is created on the first live job, not at start, so a scraper
 * without credentials starts and serves exports; a job whose client cannot be created fails with
 * the reason (TGLENS_TELEGRAM_NOT_CONFIGURED naming what is missing, TGLENS_SESSION_LOCKED, ...).
 *
 * Live reads run one at a time: one session is one connection, and Telegram's rate limits are per
 * account, so two reads at once would only earn FloodWaits sooner. A Telegram error (network,
 * Telegram's own trouble) is retried in place a few times, resuming from the checkpoint, then fails
 * the job with its message; anything else (the bus, the disk) is thrown for the bus to redeliver.
 */
import type { Api } from "telegram";
import type { Bus } from "../../common/bus.ts";
import type { TelegramConfig } from "../../common/config.ts";
import { TglensError } from "../../common/errors.ts";
import { reportJob } from "../../common/jobs.ts";
import { scrubKnownSecrets, type Logger } from "../../common/logger.ts";
import type { ScrapeRequest } from "../../common/schemas.ts";
import { gramjsClientFactory, telegramFailure, type TelegramClientFactory, type TelegramReader } from "./client.ts";
import { systemClock, type Clock } from "./flood-wait.ts";
import { liveScrape } from "./live-scrape.ts";
import { ParkedJobs } from "./parking.ts";
import { acquireSessionLock, telegramCredentials, type SessionLock } from "./session.ts";

export type LiveTelegramSettings = Pick<TelegramConfig, "apiId" | "apiHash" | "session" | "floodWaitMaxSeconds" | "pageSize" | "pageDelayMs">;

export interface LiveReaderOptions {
  bus: Bus;
  log: Logger;
  dataDir: string;
  telegram: LiveTelegramSettings;
  /** Makes the client (default: GramJS); tests inject a fake. */
  clientFactory?: TelegramClientFactory | undefined;
  /** Time for sleeps and parking (default: the system clock); tests inject one that does not wait. */
  clock?: Clock | undefined;
}

export interface LiveReader {
  /** Throws TGLENS_TELEGRAM_NOT_CONFIGURED naming what is missing; no network. */
  checkConfigured(): Promise<void>;
  /** Reads a `telegram` scrape request to its end, parks it, or fails its job. */
  scrape(request: ScrapeRequest): Promise<void>;
  /** Re-arms parked jobs. */
  start(): Promise<void>;
  /** Cuts sleeps short so an in-flight read returns (its request is redelivered on the next start). */
  abort(): void;
  close(): Promise<void>;
}

/** Pauses before the 2nd and 3rd attempt after a Telegram error. */
const RETRY_DELAYS_MS = [5_000, 30_000];

interface OpenClient {
  client: TelegramReader;
  self: Api.User;
  lock: SessionLock;
}

export function createLiveReader(opts: LiveReaderOptions): LiveReader {
  const { bus, dataDir, telegram } = opts;
  const log = opts.log.child({ component: "live-telegram" });
  const clock = opts.clock ?? systemClock;
  const factory = opts.clientFactory ?? gramjsClientFactory;
  const stopping = new AbortController();
  const parked = new ParkedJobs({ dataDir, bus, log, clock });
  let opening: Promise<OpenClient> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function connect(): Promise<OpenClient> {
    const credentials = await telegramCredentials(telegram, dataDir);
    const lock = await acquireSessionLock(dataDir);
    let client: TelegramReader | undefined;
    try {
      client = await factory(credentials, log);
      await client.connect();
      const self = await client.getMe();
      log.info({ user_id: self.id.toString() }, "connected to Telegram");
      return { client, self, lock };
    } catch (err) {
      await client?.destroy().catch(() => {});
      await lock.release();
      throw telegramFailure(err, "connecting to Telegram");
    }
  }

  function open(): Promise<OpenClient> {
    opening ??= connect().catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  }

  /** Drops the client (and the lock): the next live job connects afresh, reading the session again. */
  async function reset(): Promise<void> {
    const current = opening;
    opening = undefined;
    const client = await current?.catch(() => undefined);
    if (!client) return;
    await client.client.destroy().catch((err: unknown) => log.warn({ err }, "could not disconnect from Telegram"));
    await client.lock.release();
  }

  async function run(request: ScrapeRequest): Promise<void> {
    const source = request.source;
    if (source.kind !== "telegram") throw new TglensError("TGLENS_INTERNAL", `not a live Telegram request: ${source.kind}`);
    const jobId = request.job_id;
    for (let attempt = 1; ; attempt++) {
      try {
        const { client, self } = await open();
        const outcome = await liveScrape(
          { client, context: { self }, bus, dataDir, log, clock, settings: telegram, signal: stopping.signal },
          { jobId, chat: source.chat, limit: source.limit, since: source.since },
        );
        if (outcome.kind === "parked") await parked.park(request, outcome.seconds, outcome.resumeAt, telegram.floodWaitMaxSeconds);
        return;
      } catch (err) {
        if (stopping.signal.aborted || !(err instanceof TglensError)) throw err;
        // A session Telegram no longer accepts is dropped, so a new `tglens login` takes effect.
        if (err.code === "TGLENS_TELEGRAM_NOT_CONFIGURED") await reset();
        const delay = err.code === "TGLENS_TELEGRAM" ? RETRY_DELAYS_MS[attempt - 1] : undefined;
        if (delay !== undefined) {
          log.warn({ job_id: jobId, attempt, err: err.message, retry_in_ms: delay }, "Telegram error; retrying from the checkpoint");
          await clock.sleep(delay, stopping.signal);
          continue;
        }
        const error = { code: err.code, message: scrubKnownSecrets(err.message) };
        log.warn({ job_id: jobId, chat: source.chat, error }, "live read failed");
        await reportJob(bus, jobId, {}, { phase: "failed", error, resume_at: null, note: null });
        return;
      }
    }
  }

  return {
    async checkConfigured() {
      await telegramCredentials(telegram, dataDir);
    },
    scrape(request) {
      const next = queue.then(() => run(request));
      queue = next.catch(() => {});
      return next;
    },
    async start() {
      await parked.rearm();
    },
    abort() {
      stopping.abort();
    },
    async close() {
      stopping.abort();
      await parked.close();
      await queue;
      await reset();
    },
  };
}
