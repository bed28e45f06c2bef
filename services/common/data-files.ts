/**
 * The data directory's layout, in one place:
 *   data/raw/<chat_id>.jsonl           raw records as read (scraper)
 *   data/preprocessed/<chat_id>.jsonl  cleaned records (preprocessor)
 *   data/storage/                      SQLite database and one vector index per chat (storage)
 *   data/uploads/                      exports received as request bodies, until imported
 *   data/checkpoints/<chat_id>.json    how far live reading of a chat got (scraper)
 *   data/parked/<job_id>.json          live jobs waiting out a long FloodWait (scraper)
 *   data/jobs/<role>.sqlite            the job book of a tracker's owner and its instance id (job-tracker.ts)
 *   data/session, data/session.lock    the Telegram session (`tglens login`) and its lock
 */
import fs from "node:fs/promises";
import path from "node:path";
import { TglensError } from "./errors.ts";

export type ChatFileKind = "raw" | "preprocessed";

/** Chat ids are decimal (possibly negative); anything else would let a name escape the folder. */
export function assertChatId(chatId: string): string {
  if (!/^-?\d{1,20}$/.test(chatId)) throw new TglensError("TGLENS_BAD_REQUEST", `chat id must be a decimal number, got ${JSON.stringify(chatId)}`);
  return chatId;
}

export function chatFile(dataDir: string, kind: ChatFileKind, chatId: string): string {
  return path.join(dataDir, kind, `${assertChatId(chatId)}.jsonl`);
}

/** Where live reading of a chat got to (see services/scraper/telegram/checkpoints.ts). */
export function checkpointFile(dataDir: string, chatId: string): string {
  return path.join(checkpointsDir(dataDir), `${assertChatId(chatId)}.json`);
}

export function checkpointsDir(dataDir: string): string {
  return path.join(dataDir, "checkpoints");
}

export function storageDir(dataDir: string): string {
  return path.join(dataDir, "storage");
}

export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, "uploads");
}

export function jobsDir(dataDir: string): string {
  return path.join(dataDir, "jobs");
}

/** The job book a role (scraper, gateway) keeps of job-topic; roles are lower-case names, so one cannot escape the folder. */
export function jobBookFile(dataDir: string, role: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(role)) throw new TypeError(`a job tracker's role must be a lower-case name, got ${JSON.stringify(role)}`);
  return path.join(jobsDir(dataDir), `${role}.sqlite`);
}

/**
 * Removes a chat's raw and preprocessed files and its live-reading checkpoint (so indexing it again
 * reads its whole history); true when something was there.
 */
export async function deleteChatFiles(dataDir: string, chatId: string): Promise<boolean> {
  let removed = false;
  for (const file of [chatFile(dataDir, "raw", chatId), chatFile(dataDir, "preprocessed", chatId), checkpointFile(dataDir, chatId)]) {
    try {
      await fs.unlink(file);
      removed = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return removed;
}
