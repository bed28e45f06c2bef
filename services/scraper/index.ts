/**
 * The scraper service: reads chats and publishes one raw record per message to preprocess-topic.
 * `POST /scrape` accepts a Telegram Desktop export (a path under TGLENS_IMPORT_DIR, or the export
 * itself as the body), checks the whole export first — so bad input is refused before anything
 * is published — then queues a scrape request on scrape-topic and answers with a job id.
 * `POST /scrape {"chat": ...}` queues a live read of a chat through the Telegram API
 * (telegram/live-reader.ts); without Telegram credentials it answers 503 naming what is missing.
 * It also keeps the job book (`GET /jobs/:id`), fed by every stage's reports on job-topic.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, type Readable } from "node:stream";
import { Type } from "@sinclair/typebox";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { uploadsDir } from "../common/data-files.ts";
import { TglensError } from "../common/errors.ts";
import { createHttpApp, errorBody, parseJsonBody } from "../common/http.ts";
import { JobBook, newJobId, reportJob } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import { ChatRef, SCHEMA_VERSION, type ScrapeRequest } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import { summariseExport } from "./export-reader.ts";
import { importExport } from "./import-export.ts";
import type { TelegramClientFactory } from "./telegram/client.ts";
import type { Clock } from "./telegram/flood-wait.ts";
import { createLiveReader } from "./telegram/live-reader.ts";
import { parseLiveScrapeBody } from "./telegram/scrape-body.ts";

export interface ScraperDeps {
  bus: Bus;
  log: Logger;
  config: Pick<Config, "dataDir" | "importDir" | "maxBodyBytes" | "maxUploadBytes" | "telegram">;
  /** For tests: the Telegram client (default GramJS, created on the first live job) and the clock. */
  telegram?: { clientFactory?: TelegramClientFactory; clock?: Clock };
}

const ScrapeAccepted = Type.Object({
  job_id: Type.String(),
  chats: Type.Array(ChatRef),
  messages: Type.Integer({ description: "messages that will be imported" }),
  skipped: Type.Integer({ description: "service and unsupported messages left out" }),
});

const LiveScrapeAccepted = Type.Object({
  job_id: Type.String(),
  chat: Type.String({ description: "the chat as it will be read: @username or a numeric id" }),
});

const JobCounters = Type.Record(Type.String(), Type.Integer());
export const JobStatusSchema = Type.Object({
  job_id: Type.String(),
  state: Type.String({ description: "running, parked (waiting out a long Telegram FloodWait until resume_at), done or failed" }),
  source: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  finished_at: Type.Union([Type.String(), Type.Null()]),
  expected: Type.Union([Type.Integer(), Type.Null()]),
  counters: JobCounters,
  chats: Type.Array(ChatRef),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  resume_at: Type.Union([Type.String(), Type.Null()], { description: "when a live read waiting for Telegram (FloodWait) resumes" }),
  note: Type.Union([Type.String(), Type.Null()], { description: "what the source is doing, e.g. why it waits" }),
});

/** Resolves an export path and refuses anything outside the import directory (symlinks included). */
export async function resolveImportPath(importDir: string, requested: string): Promise<string> {
  const root = await fs.realpath(importDir).catch(() => path.resolve(importDir));
  const candidate = path.resolve(root, requested);
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    if (!isInside(root, candidate)) throw forbidden(requested, importDir);
    throw new TglensError("TGLENS_NOT_FOUND", `export file not found: ${requested}`);
  }
  if (!isInside(root, real)) throw forbidden(requested, importDir);
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw new TglensError("TGLENS_BAD_REQUEST", `export_path is not a file: ${requested}`);
  return real;
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function forbidden(requested: string, importDir: string): TglensError {
  return new TglensError("TGLENS_PATH_FORBIDDEN", `export_path ${requested} is outside the import directory (TGLENS_IMPORT_DIR=${importDir})`);
}

/** Copies a request body to a file, failing with 413 past `limit` bytes. */
async function saveBody(body: Readable, file: string, limit: number): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) done(new TglensError("TGLENS_PAYLOAD_TOO_LARGE", `export upload exceeds ${limit} bytes (TGLENS_MAX_UPLOAD_BYTES)`));
      else done(null, chunk);
    },
  });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await pipeline(body, counter, createWriteStream(file));
  return bytes;
}

/** A small body may be `{"export_path": ...}` or a live `{"chat": ...}`; anything else is taken as the export itself. */
const PATH_REQUEST_MAX_BYTES = 64 * 1024;

export async function createScraper(deps: ScraperDeps): Promise<Service> {
  const { bus, log, config } = deps;
  const { app } = await createHttpApp({
    service: "scraper",
    version: TGLENS_VERSION,
    description: "Reads chats (Telegram Desktop exports; live Telegram) into raw message records.",
    log,
    bodyLimit: config.maxBodyBytes,
    readiness: [{ name: "bus", check: () => bus.ready() }],
  });
  const jobs = new JobBook();
  const live = createLiveReader({
    bus,
    log,
    dataDir: config.dataDir,
    telegram: config.telegram,
    clientFactory: deps.telegram?.clientFactory,
    clock: deps.telegram?.clock,
  });

  /** Queues a live read: checked, then the job exists and its request is on scrape-topic. */
  async function queueLiveScrape(jobId: string, body: Record<string, unknown>): Promise<{ job_id: string; chat: string }> {
    const request = parseLiveScrapeBody(body);
    await live.checkConfigured();
    const source = `telegram:${request.chat}`;
    jobs.create(jobId, source, null);
    await reportJob(bus, jobId, {}, { phase: "queued", source, expected: null });
    const message: ScrapeRequest = { v: SCHEMA_VERSION, job_id: jobId, source: { kind: "telegram", ...request } };
    await bus.publish("scrape-topic", message, { key: jobId });
    log.info({ job_id: jobId, chat: request.chat, limit: request.limit, since: request.since }, "live read queued");
    return { job_id: jobId, chat: request.chat };
  }

  await app.register(async (scope) => {
    // The export arrives as a stream and goes to disk as it comes, so a large export never sits in memory.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", (_req, payload, done) => done(null, payload));
    scope.post(
      "/scrape",
      {
        bodyLimit: config.maxUploadBytes,
        schema: {
          summary: "Import a Telegram Desktop export, or read a chat live from Telegram",
          description:
            'Body: `{"export_path": "<file under TGLENS_IMPORT_DIR>"}`, or the export JSON itself (result.json of one chat, or a full-account export). The whole export is checked before anything is imported. ' +
            'Or `{"chat": "@username | numeric id | t.me link", "limit"?: integer >= 1, "since"?: unix seconds or ISO date}`: a live read through the Telegram API (needs TELEGRAM_API_ID, TELEGRAM_API_HASH and a session; 503 without them) → `202 {"job_id", "chat"}`.',
          tags: ["scraper"],
          response: {
            202: Type.Union([ScrapeAccepted, LiveScrapeAccepted]),
            400: { $ref: "ErrorResponse#" },
            403: { $ref: "ErrorResponse#" },
            404: { $ref: "ErrorResponse#" },
            413: { $ref: "ErrorResponse#" },
            422: { $ref: "ErrorResponse#" },
            503: { $ref: "ErrorResponse#" },
          },
        },
      },
      async (req, reply) => {
        const jobId = newJobId();
        const upload = path.join(uploadsDir(config.dataDir), `${jobId}.json`);
        let file = upload;
        let source = "upload";
        try {
          const bytes = await saveBody(req.body as Readable, upload, config.maxUploadBytes);
          if (bytes <= PATH_REQUEST_MAX_BYTES) {
            const small = parseJsonBody(await fs.readFile(upload));
            if (small && typeof small === "object" && !Array.isArray(small) && "chat" in small) {
              await fs.rm(upload, { force: true });
              return reply.status(202).send(await queueLiveScrape(jobId, small as Record<string, unknown>));
            }
            if (small && typeof small === "object" && !Array.isArray(small) && "export_path" in small) {
              const requested = (small as { export_path: unknown }).export_path;
              if (typeof requested !== "string" || requested === "") {
                throw new TglensError("TGLENS_BAD_REQUEST", "body.export_path must be a non-empty string");
              }
              await fs.rm(upload, { force: true });
              file = await resolveImportPath(config.importDir, requested);
              source = requested;
            }
          }
          const summary = await summariseExport({ path: file }, { jobId });
          jobs.create(jobId, source, summary.messages, summary.chats);
          await reportJob(bus, jobId, {}, { phase: "queued", source, expected: summary.messages, chats: summary.chats });
          const request: ScrapeRequest = { v: SCHEMA_VERSION, job_id: jobId, source: { kind: "export", path: file } };
          await bus.publish("scrape-topic", request, { key: jobId });
          log.info({ job_id: jobId, source, messages: summary.messages, chats: summary.chats.length }, "import queued");
          return reply.status(202).send({ job_id: jobId, chats: summary.chats, messages: summary.messages, skipped: summary.skipped });
        } catch (err) {
          await fs.rm(upload, { force: true });
          throw err;
        }
      },
    );
  });

  app.get(
    "/jobs/:id",
    {
      schema: {
        summary: "Status and counters of a job",
        tags: ["jobs"],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 200: JobStatusSchema, 404: { $ref: "ErrorResponse#" } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const job = jobs.get(id);
      if (!job) return reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no job ${id}`));
      return job;
    },
  );

  app.get(
    "/jobs",
    { schema: { summary: "Recent jobs, newest first", tags: ["jobs"], response: { 200: Type.Object({ jobs: Type.Array(JobStatusSchema) }) } } },
    async () => ({ jobs: jobs.list() }),
  );

  async function handleScrape(batch: Delivery<"scrape-topic">[]): Promise<void> {
    for (const { message } of batch) {
      if (message.source.kind === "telegram") {
        await live.scrape(message);
        continue;
      }
      try {
        await importExport({ bus, dataDir: config.dataDir, jobId: message.job_id, path: message.source.path, log });
      } catch (err) {
        if (err instanceof TglensError && !err.retryable) {
          await reportJob(bus, message.job_id, {}, { phase: "failed", error: { code: err.code, message: err.message } });
          continue;
        }
        throw err;
      }
      if (message.source.path.startsWith(uploadsDir(config.dataDir) + path.sep)) await fs.rm(message.source.path, { force: true });
    }
  }

  const trackJobs = async (batch: Delivery<"job-topic">[]) => {
    for (const { message } of batch) jobs.apply(message);
  };
  const service = busService(
    "scraper",
    app,
    async () => {
      const subscriptions = [
        // A group of its own per scraper process: a new group starts at the earliest offset, so a
        // restarted scraper rebuilds the whole job book from job-topic, and with several scraper
        // processes each sees every job (a shared group would split the events among them).
        await bus.subscribe("job-topic", `scraper-jobs-${randomUUID()}`, trackJobs, { batchSize: 1000 }),
        await bus.subscribe("scrape-topic", "scraper", handleScrape),
      ];
      await live.start();
      return subscriptions;
    },
    () => live.close(),
  );
  return {
    ...service,
    // A live read may be sleeping through a FloodWait: cut that short first, or closing the
    // subscriptions would wait for it.
    async stop() {
      live.abort();
      await service.stop();
    },
  };
}
