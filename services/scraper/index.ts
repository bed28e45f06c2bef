/**
 * The scraper service: reads chats and publishes one raw record per message to preprocess-topic.
 * `POST /scrape` accepts a Telegram Desktop export (a path under TGLENS_IMPORT_DIR, or the export
 * itself as the body), checks the whole export first — so bad input is refused before anything
 * is published — then queues a scrape request on scrape-topic and answers with a job id.
 * `POST /scrape {"chat": ...}` queues a live read of a chat through the Telegram API
 * (telegram/live-reader.ts); without Telegram credentials it answers 503 naming what is missing.
 * It also keeps the job book (`GET /jobs/:id`), fed by every stage's reports on job-topic
 * (common/job-tracker.ts: kept in data/jobs/, so it survives a restart). A forget on control-topic
 * removes the scraper's traces of a chat (forget.ts).
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { uploadFile } from "../common/data-files.ts";
import { TglensError } from "../common/errors.ts";
import { followForgets } from "../common/forget.ts";
import { createHttpApp, documentedOnly, errorBody, parseJsonBody } from "../common/http.ts";
import { openJobTracker } from "../common/job-tracker.ts";
import { JobStatusSchema, newJobId, reportJob } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import { MESSAGE_SCHEMA_VERSION, type ScrapeRequest } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import { EXPORT_FILE_NAME, summariseExport } from "./export-reader.ts";
import { JobParams, JobsAnswer, ScrapeAnswer, ScrapeBody } from "./http-schemas.ts";
import { forgetScrapedChat } from "./forget.ts";
import { importExport } from "./import-export.ts";
import { UploadGate } from "./upload.ts";
import type { TelegramClientFactory } from "./telegram/client.ts";
import type { Clock } from "./telegram/flood-wait.ts";
import { createLiveReader } from "./telegram/live-reader.ts";
import { parseLiveScrapeBody } from "./telegram/scrape-body.ts";

export interface ScraperDeps {
  bus: Bus;
  log: Logger;
  config: Pick<Config, "dataDir" | "importDir" | "maxBodyBytes" | "maxUploadBytes" | "uploadIdleSeconds" | "maxUploads" | "telegram"> &
    Partial<Pick<Config, "access">>;
  /** For tests: the Telegram client (default GramJS, created on the first live job) and the clock. */
  telegram?: { clientFactory?: TelegramClientFactory; clock?: Clock };
}

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
  // Telegram Desktop exports to a folder: its result.json is the export.
  if (stat.isDirectory()) return resolveImportPath(importDir, path.join(path.relative(root, real), EXPORT_FILE_NAME));
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
    access: config.access,
    readiness: [{ name: "bus", check: () => bus.ready() }],
  });
  const uploads = new UploadGate({ maxBytes: config.maxUploadBytes, idleMs: config.uploadIdleSeconds * 1000, maxConcurrent: config.maxUploads });
  const live = createLiveReader({
    bus,
    log,
    dataDir: config.dataDir,
    telegram: config.telegram,
    clientFactory: deps.telegram?.clientFactory,
    clock: deps.telegram?.clock,
  });
  /** An uploaded export is kept until its job has read it, or has failed for good. */
  const removeUpload = (jobId: string) => fs.rm(uploadFile(config.dataDir, jobId), { force: true });
  const tracker = openJobTracker({
    bus,
    dataDir: config.dataDir,
    role: "scraper",
    log,
    // A scrape request that failed every attempt (dead-lettered) is reported as failed on job-topic.
    onChange: ({ event }) => (event.phase === "failed" ? removeUpload(event.job_id) : undefined),
  });
  const jobs = tracker.jobs;

  /** Queues a live read: checked, then the job exists and its request is on scrape-topic. */
  async function queueLiveScrape(jobId: string, body: Record<string, unknown>): Promise<{ job_id: string; chat: string }> {
    const request = parseLiveScrapeBody(body);
    await live.checkConfigured();
    const source = `telegram:${request.chat}`;
    jobs.create(jobId, source, null);
    await reportJob(bus, jobId, {}, { phase: "queued", source, expected: null });
    const message: ScrapeRequest = { v: MESSAGE_SCHEMA_VERSION, job_id: jobId, source: { kind: "telegram", ...request } };
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
        // The body arrives as a stream: the handler checks it (the schema documents it).
        validatorCompiler: documentedOnly,
        schema: {
          summary: "Import a Telegram Desktop export, or read a chat live from Telegram",
          description:
            'Body: `{"export_path": "<file under TGLENS_IMPORT_DIR>"}`, or the export JSON itself ' +
            "(result.json of one chat, or a full-account export). The whole export is checked before anything is imported. " +
            'Or `{"chat": "@username | numeric id | t.me link", "limit"?: integer >= 1, "since"?: unix seconds or ISO date}`: ' +
            "a live read through the Telegram API (needs TELEGRAM_API_ID, TELEGRAM_API_HASH and a session; 503 without them) " +
            '→ `202 {"job_id", "chat"}`.',
          tags: ["scraper"],
          body: ScrapeBody,
          response: {
            202: ScrapeAnswer,
            400: { $ref: "ErrorResponse#" },
            403: { $ref: "ErrorResponse#" },
            404: { $ref: "ErrorResponse#" },
            408: { $ref: "ErrorResponse#" },
            413: { $ref: "ErrorResponse#" },
            422: { $ref: "ErrorResponse#" },
            429: { $ref: "ErrorResponse#" },
            503: { $ref: "ErrorResponse#" },
          },
        },
      },
      async (req, reply) => {
        const jobId = newJobId();
        const upload = uploadFile(config.dataDir, jobId);
        let file = upload;
        let source = "upload";
        try {
          const bytes = await uploads.save(req.body as Readable | undefined, upload);
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
          const request: ScrapeRequest = {
            v: MESSAGE_SCHEMA_VERSION,
            job_id: jobId,
            source: { kind: "export", path: file, ...(summary.replaced > 0 ? { replaced: summary.replaced } : {}) },
          };
          await bus.publish("scrape-topic", request, { key: jobId });
          log.info({ job_id: jobId, source, messages: summary.messages, chats: summary.chats.length }, "import queued");
          return reply
            .status(202)
            .send({ job_id: jobId, chats: summary.chats, messages: summary.messages, skipped: summary.skipped, replaced: summary.replaced });
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
        params: JobParams,
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

  app.get("/jobs", { schema: { summary: "Recent jobs, newest first", tags: ["jobs"], response: { 200: JobsAnswer } } }, async () => ({
    jobs: jobs.list(),
  }));

  async function handleScrape(batch: Delivery<"scrape-topic">[]): Promise<void> {
    for (const { message } of batch) {
      if (message.source.kind === "telegram") {
        await live.scrape(message);
        continue;
      }
      try {
        await importExport({
          bus,
          dataDir: config.dataDir,
          jobId: message.job_id,
          path: message.source.path,
          replaced: message.source.replaced ?? 0,
          log,
        });
      } catch (err) {
        if (err instanceof TglensError && !err.retryable) {
          await reportJob(bus, message.job_id, {}, { phase: "failed", error: { code: err.code, message: err.message } });
          await removeUpload(message.job_id);
          continue;
        }
        throw err;
      }
      await removeUpload(message.job_id);
    }
  }

  const service = busService(
    "scraper",
    app,
    async () => {
      const subscriptions = [
        await tracker.follow(),
        await bus.subscribe("scrape-topic", "scraper", handleScrape),
        await followForgets({ bus, service: "scraper", log, forget: (chatId) => forgetScrapedChat({ dataDir: config.dataDir, tracker }, chatId) }),
      ];
      await live.start();
      return subscriptions;
    },
    async () => {
      try {
        await live.close();
      } finally {
        await tracker.close();
      }
    },
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
