/**
 * Imports one checked export: streams it, writes each chat's raw records to
 * data/raw/<chat_id>.jsonl (a fresh file per import, swapped in when the chat is complete) and
 * publishes them to preprocess-topic in batches, reporting progress on job-topic as it goes.
 * Running it twice publishes the same records again, which the idempotent sinks absorb.
 * A message id that repeats within a chat is imported once, in its last version: when the summary
 * found repeats, a first pass finds them, and earlier versions are counted as `replaced`.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import type { Bus } from "../common/bus.ts";
import { chatFile } from "../common/data-files.ts";
import { reportJob, reportMessages, type MessageRef } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import type { ChatRef, RawMessage } from "../common/schemas.ts";
import { readExport } from "./export-reader.ts";
import { MessageIdSet } from "./message-id-set.ts";

const PUBLISH_BATCH = 500;

class RawFile {
  readonly final: string;
  readonly temp: string;
  private readonly out: WriteStream;

  constructor(final: string, jobId: string) {
    this.final = final;
    this.temp = `${final}.${jobId}.tmp`;
    this.out = createWriteStream(this.temp);
  }

  async write(line: string): Promise<void> {
    if (!this.out.write(line)) await once(this.out, "drain");
  }

  async commit(): Promise<void> {
    this.out.end();
    await once(this.out, "finish");
    await fs.rename(this.temp, this.final);
  }

  async abandon(): Promise<void> {
    this.out.destroy();
    await fs.rm(this.temp, { force: true });
  }
}

const versionKey = (chatId: string, messageId: number) => `${chatId}\u0000${messageId}`;

/** For each (chat, id) that occurs more than once in the export, how many times it occurs. */
async function repeatedIds(file: string, jobId: string): Promise<Map<string, number>> {
  const seen = new MessageIdSet();
  const repeats = new Map<string, number>();
  for await (const item of readExport({ path: file }, { jobId })) {
    if (item.kind !== "message") continue;
    const { chat, message_id } = item.message;
    if (seen.add(chat.id, message_id)) continue;
    const key = versionKey(chat.id, message_id);
    repeats.set(key, (repeats.get(key) ?? 1) + 1);
  }
  return repeats;
}

export async function importExport(opts: {
  bus: Bus;
  dataDir: string;
  jobId: string;
  path: string;
  /** Earlier versions of repeated ids, as the export's summary counted them (0: no first pass). */
  replaced?: number;
  log: Logger;
}): Promise<void> {
  const { bus, jobId } = opts;
  const repeats = opts.replaced ? await repeatedIds(opts.path, jobId) : new Map<string, number>();
  await fs.mkdir(path.join(opts.dataDir, "raw"), { recursive: true });
  const files = new Map<string, RawFile>();
  const chats: ChatRef[] = [];
  let pending: RawMessage[] = [];
  let skipped: MessageRef[] = [];
  /** Skipped entries without a message id (counted, but not de-duplicated on a re-read). */
  let skippedAnonymous = 0;
  let replaced = 0;

  const flush = async () => {
    if (pending.length === 0 && skipped.length === 0 && skippedAnonymous === 0 && replaced === 0) return;
    const batch = pending;
    pending = [];
    // Reported before they move on, so no later stage's report can reach the job before this one
    // (a crash in between re-reads the batch; reports count each message once).
    await reportMessages(bus, { scraped: batch, skipped });
    await bus.publishMany(
      "preprocess-topic",
      batch.map((m) => ({ key: m.chat.id, message: m })),
    );
    await reportJob(bus, jobId, { skipped: skippedAnonymous, replaced });
    skipped = [];
    skippedAnonymous = 0;
    replaced = 0;
  };

  try {
    for await (const item of readExport({ path: opts.path }, { jobId })) {
      if (item.kind === "chat") {
        chats.push(item.chat);
        if (!files.has(item.chat.id)) files.set(item.chat.id, new RawFile(chatFile(opts.dataDir, "raw", item.chat.id), jobId));
      } else if (item.kind === "skipped") {
        if (item.message_id === undefined) skippedAnonymous++;
        else skipped.push({ job_id: jobId, chat: item.chat, message_id: item.message_id });
      } else {
        const key = repeats.size > 0 ? versionKey(item.message.chat.id, item.message.message_id) : undefined;
        const left = key === undefined ? undefined : repeats.get(key);
        if (left !== undefined && left > 1) {
          repeats.set(key!, left - 1);
          replaced++;
          continue;
        }
        const file = files.get(item.message.chat.id);
        await file?.write(JSON.stringify({ ...item.message, job_id: undefined }) + "\n");
        pending.push(item.message);
        if (pending.length >= PUBLISH_BATCH) await flush();
      }
    }
    await flush();
    for (const file of files.values()) await file.commit();
  } catch (err) {
    for (const file of files.values()) await file.abandon();
    throw err;
  }
  await reportJob(bus, jobId, {}, { phase: "scraped", chats });
  opts.log.info({ job_id: jobId, chats: chats.length }, "export read");
}
