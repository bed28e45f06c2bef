/**
 * The data directory's layout, in one place:
 *   data/raw/<chat_id>.jsonl           raw records as read (scraper)
 *   data/preprocessed/<chat_id>.jsonl  cleaned records (preprocessor)
 *   data/storage/                      SQLite database and one vector index per chat (storage)
 *   data/uploads/                      exports received as request bodies, until imported
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

export function storageDir(dataDir: string): string {
  return path.join(dataDir, "storage");
}

export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, "uploads");
}

/** Removes a chat's raw and preprocessed files; true when something was there. */
export async function deleteChatFiles(dataDir: string, chatId: string): Promise<boolean> {
  let removed = false;
  for (const kind of ["raw", "preprocessed"] as const) {
    try {
      await fs.unlink(chatFile(dataDir, kind, chatId));
      removed = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return removed;
}
