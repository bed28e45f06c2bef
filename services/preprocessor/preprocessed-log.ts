/**
 * data/preprocessed/<chat_id>.jsonl: one line per cleaned message. Redelivery and re-import must
 * not grow the file, so each chat's written (message id, edit date) pairs are remembered — read
 * back from the file the first time a chat is seen, forgotten with the file (forget(), or the file
 * removed by hand).
 */
import { createReadStream, existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { chatFile, deletePreprocessorChatFile } from "../common/data-files.ts";
import type { CleanMessage } from "../common/schemas.ts";

const versionOf = (m: { message_id: number; edited: number | null }) => `${m.message_id}:${m.edited ?? 0}`;

export class PreprocessedLog {
  private readonly dataDir: string;
  private readonly written = new Map<string, Set<string>>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  private async seen(chatId: string): Promise<Set<string>> {
    const file = chatFile(this.dataDir, "preprocessed", chatId);
    let set = this.written.get(chatId);
    if (set && existsSync(file)) return set;
    set = new Set();
    this.written.set(chatId, set);
    if (!existsSync(file)) return set;
    const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      try {
        set.add(versionOf(JSON.parse(line) as CleanMessage));
      } catch {
        // a torn last line from a crash: the message will be written again
      }
    }
    return set;
  }

  async append(messages: readonly CleanMessage[]): Promise<void> {
    const byChat = new Map<string, CleanMessage[]>();
    for (const m of messages) byChat.set(m.chat.id, [...(byChat.get(m.chat.id) ?? []), m]);
    for (const [chatId, list] of byChat) {
      const set = await this.seen(chatId);
      const fresh = list.filter((m) => !set.has(versionOf(m)));
      if (fresh.length === 0) continue;
      const file = chatFile(this.dataDir, "preprocessed", chatId);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.appendFile(file, fresh.map((m) => JSON.stringify({ ...m, job_id: undefined }) + "\n").join(""));
      for (const m of fresh) set.add(versionOf(m));
    }
  }

  /** Removes a chat's file (the preprocessor's part of forgetting it); 1 when it was there. */
  async forget(chatId: string): Promise<number> {
    const removed = await deletePreprocessorChatFile(this.dataDir, chatId);
    this.written.delete(chatId);
    return removed;
  }

  async close(): Promise<void> {
    this.written.clear();
  }
}
