/**
 * One live read of one chat: resolve it, then page through its history oldest → newest from its
 * checkpoint. Each page is mapped, published, counted, appended to data/raw/<chat>.jsonl and only
 * then checkpointed, so a crash publishes at most a page again (the sinks upsert). A long FloodWait
 * stops the read with when to resume (`parked`). `limit` and `since`, and how they meet restarts:
 * docs/architecture.md ("Live reading: session, mapping, pages").
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Api } from "telegram";
import type { Bus } from "../../common/bus.ts";
import type { TelegramConfig } from "../../common/config.ts";
import { chatFile } from "../../common/data-files.ts";
import { TglensError } from "../../common/errors.ts";
import { reportJob, reportMessages, type MessageRef } from "../../common/jobs.ts";
import type { Logger } from "../../common/logger.ts";
import type { ChatRef, RawMessage } from "../../common/schemas.ts";
import { isSkip, type MappedMessage } from "../export-mapping.ts";
import { formatChatInput, parseChatInput } from "./chat-input.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoints.ts";
import { telegramFailure, type TelegramReader } from "./client.ts";
import { callTelegram, ParkJob, type Clock } from "./flood-wait.ts";
import { gramjsMessageToRaw, type GramjsContext } from "./gramjs-mapping.ts";
import { resolveChat, type TelegramCall } from "./resolve-chat.ts";

export type LiveScrapeSettings = Pick<TelegramConfig, "floodWaitMaxSeconds" | "pageSize" | "pageDelayMs">;

export interface LiveScrapeDeps {
  client: TelegramReader;
  context: GramjsContext;
  bus: Bus;
  dataDir: string;
  log: Logger;
  clock: Clock;
  settings: LiveScrapeSettings;
  /** Aborts sleeps (page pacing, FloodWait) when the scraper stops. */
  signal?: AbortSignal;
}

export interface LiveScrapeJob {
  jobId: string;
  /** The chat as the request named it ("@name", an id or a link). */
  chat: string;
  limit?: number | undefined;
  /** Unix seconds. */
  since?: number | undefined;
}

export type LiveScrapeOutcome =
  | { kind: "scraped"; chat: ChatRef; scraped: number; skipped: number }
  /** Telegram asked to wait `seconds`, more than the cap: resume the job at `resumeAt` (ms since the epoch). */
  | { kind: "parked"; seconds: number; resumeAt: number };

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One message Telegram sent that the mapping refuses (it cannot happen with Telegram's own limits,
 * but a refusal would stop the chat at that message on every later read) is skipped and logged.
 */
function mapOrSkip(message: Api.TypeMessage, chat: ChatRef, jobId: string, context: GramjsContext, log: Logger): MappedMessage {
  try {
    return gramjsMessageToRaw(message, chat, jobId, context);
  } catch (err) {
    if (!(err instanceof TglensError) || err.code !== "TGLENS_BAD_MESSAGE") throw err;
    log.warn({ message_id: message.id, err: err.message }, "message skipped: the mapping refused it");
    return { skip: "unsupported", message_id: message.id };
  }
}

export async function liveScrape(deps: LiveScrapeDeps, job: LiveScrapeJob): Promise<LiveScrapeOutcome> {
  const { client, bus, clock, settings, signal } = deps;
  const { jobId } = job;
  const label = formatChatInput(parseChatInput(job.chat));
  const log = deps.log.child({ job_id: jobId, chat: label });

  const call: TelegramCall = async (doing, fn) => {
    try {
      return await callTelegram(doing, fn, {
        maxSeconds: settings.floodWaitMaxSeconds,
        clock,
        ...(signal ? { signal } : {}),
        async onWait(seconds, resumeAt) {
          log.warn({ seconds, resume_at: iso(resumeAt), doing }, "Telegram FloodWait: sleeping before asking again");
          await reportJob(
            bus,
            jobId,
            {},
            { resume_at: iso(resumeAt), note: `Telegram asked to wait ${seconds} s (FloodWait); reading resumes at ${iso(resumeAt)}` },
          );
        },
        async onResume() {
          await reportJob(bus, jobId, {}, { resume_at: null, note: null });
        },
      });
    } catch (err) {
      if (err instanceof ParkJob || signal?.aborted) throw err;
      throw telegramFailure(err, doing, label);
    }
  };

  try {
    const { entity, chat } = await resolveChat(client, parseChatInput(job.chat), call);
    await reportJob(bus, jobId, {}, { chats: [chat] });
    const checkpoint = await readCheckpoint(deps.dataDir, chat.id);
    let cursor = checkpoint?.last_message_id ?? 0;
    // A job resumed (after a crash or parking) keeps its count; a new job starts from zero.
    let taken = checkpoint?.job_id === jobId ? checkpoint.job_messages : 0;
    let scraped = 0;
    let skipped = 0;
    await fs.mkdir(path.join(deps.dataDir, "raw"), { recursive: true });
    log.info({ chat_id: chat.id, after_message_id: cursor }, "live read started");

    for (let page = 0; ; page++) {
      const want = Math.min(settings.pageSize, (job.limit ?? Infinity) - taken);
      if (want <= 0) break;
      if (page > 0 && settings.pageDelayMs > 0) await clock.sleep(settings.pageDelayMs, signal);
      const after = cursor;
      const messages = await call(`reading ${label}`, () => client.getMessages(entity, { limit: want, minId: after, reverse: true }));
      // Oldest first and nothing at or before the checkpoint, whatever the server sent.
      const fresh = messages.filter((m) => m.id > after).sort((a, b) => a.id - b.id);
      const records: RawMessage[] = [];
      const skippedRefs: MessageRef[] = [];
      for (const message of fresh) {
        cursor = message.id;
        if (job.since !== undefined && "date" in message && message.date < job.since) continue;
        taken++;
        const mapped = mapOrSkip(message, chat, jobId, deps.context, log);
        if (isSkip(mapped)) skippedRefs.push({ job_id: jobId, chat, message_id: mapped.message_id });
        else records.push(mapped);
      }
      // Reported before they move on, so no later stage's report can reach the job before this one.
      await reportMessages(bus, { scraped: records, skipped: skippedRefs });
      if (records.length > 0)
        await bus.publishMany(
          "preprocess-topic",
          records.map((message) => ({ key: chat.id, message })),
        );
      if (records.length > 0) {
        await fs.appendFile(chatFile(deps.dataDir, "raw", chat.id), records.map((m) => JSON.stringify({ ...m, job_id: undefined }) + "\n").join(""));
      }
      if (fresh.length > 0) await writeCheckpoint(deps.dataDir, { chat_id: chat.id, last_message_id: cursor, job_id: jobId, job_messages: taken });
      scraped += records.length;
      skipped += skippedRefs.length;
      // Only an empty page ends the history: a short one may just be Telegram answering with less.
      if (fresh.length === 0) break;
    }
    await reportJob(bus, jobId, {}, { phase: "scraped", chats: [chat] });
    log.info({ chat_id: chat.id, scraped, skipped, last_message_id: cursor }, "live read done");
    return { kind: "scraped", chat, scraped, skipped };
  } catch (err) {
    if (err instanceof ParkJob) return { kind: "parked", seconds: err.seconds, resumeAt: err.resumeAt };
    throw err;
  }
}
