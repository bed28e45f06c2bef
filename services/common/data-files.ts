/**
 * The data directory's layout, in one place. Each service owns its part and touches no other, so
 * the services can run with data directories of their own, on five hosts; in embedded mode one
 * directory holds every part. Forgetting a chat is a message on control-topic that each owner
 * handles for its own part. The layout, part by part: docs/architecture.md ("Data layout").
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

/** An export received as the body of job `jobId`'s request, kept until the job has read it. */
export function uploadFile(dataDir: string, jobId: string): string {
  return path.join(uploadsDir(dataDir), `${jobId}.json`);
}

export function jobsDir(dataDir: string): string {
  return path.join(dataDir, "jobs");
}

/** The job book a role (scraper, gateway) keeps of job-topic; roles are lower-case names, so one cannot escape the folder. */
export function jobBookFile(dataDir: string, role: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(role)) throw new TypeError(`a job tracker's role must be a lower-case name, got ${JSON.stringify(role)}`);
  return path.join(jobsDir(dataDir), `${role}.sqlite`);
}

/** Removes the files that are there; how many were. */
export async function removeFiles(files: readonly string[]): Promise<number> {
  let removed = 0;
  for (const file of files) {
    try {
      await fs.unlink(file);
      removed++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return removed;
}

/**
 * The scraper's files of a chat: its raw records and its live-reading checkpoint (so reading it
 * again reads its whole history). Removes them; how many of each were there.
 */
export async function deleteScraperChatFiles(dataDir: string, chatId: string): Promise<{ raw: number; checkpoints: number }> {
  const raw = chatFile(dataDir, "raw", chatId);
  const checkpoint = checkpointFile(dataDir, chatId);
  return { raw: await removeFiles([raw]), checkpoints: await removeFiles([checkpoint]) };
}

/** The preprocessor's file of a chat, its cleaned records: removed; 1 when it was there. */
export async function deletePreprocessorChatFile(dataDir: string, chatId: string): Promise<number> {
  return removeFiles([chatFile(dataDir, "preprocessed", chatId)]);
}
