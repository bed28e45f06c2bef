/**
 * What `npm run fuzz` compares before and after every phase: per chat, its row in `chats` and a
 * hash of all its `messages` rows (every column, seq included, so a rewrite of identical text
 * shows too), read through a read-only connection; every file under the data directory with its
 * size and hash; and `PRAGMA integrity_check`. The SQLite files themselves are listed by name only:
 * their bytes move with WAL checkpoints while no row changes, and the rows are compared above.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { openDatabase, prepareRetained } from "../../services/storage/message-store.ts";
import { storageDir } from "../../services/common/data-files.ts";

export interface ChatState {
  messages: number;
  hash: string;
}

export interface Snapshot {
  chats: Map<string, ChatState>;
  /** Relative path → "size:sha256" ("sqlite" for the database files). */
  files: Map<string, string>;
  integrity: string;
}

export const DB_FILE = "messages.db";

function hashRows(rows: unknown[]): string {
  const h = createHash("sha256");
  for (const row of rows) {
    for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
      h.update(k);
      h.update("\0");
      h.update(Buffer.isBuffer(v) ? v : String(v === null ? "\u0001null" : typeof v === "bigint" ? `${v}n` : v));
      h.update("\0");
    }
    h.update("\n");
  }
  return h.digest("hex");
}

async function listFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      const rel = path.relative(root, p);
      // data/jobs/ is the scraper's job book: every job changes it, and jobs are checked through
      // their API instead (a job that never ends fails the run).
      if (rel.split(path.sep)[0] === "jobs") continue;
      if (e.name.startsWith(DB_FILE)) {
        out.set(rel, "sqlite");
        continue;
      }
      const bytes = await fs.readFile(p).catch(() => undefined);
      if (bytes) out.set(rel, `${bytes.length}:${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`);
    }
  }
  await walk(root);
  return out;
}

export async function takeSnapshot(dataDir: string): Promise<Snapshot> {
  const file = path.join(storageDir(dataDir), DB_FILE);
  const chats = new Map<string, ChatState>();
  let integrity: string;
  try {
    await fs.access(file);
    // Retained (see message-store.ts): a snapshot opens a connection per phase, never collected.
    const db = openDatabase(file, { readonly: true, fileMustExist: true });
    try {
      db.defaultSafeIntegers(true);
      integrity = (prepareRetained(db, "PRAGMA integrity_check").pluck(true).all() as string[]).join("; ");
      const chatRows = prepareRetained(db, "SELECT * FROM chats ORDER BY chat_id").all() as { chat_id: string }[];
      const rowsOf = prepareRetained(db, "SELECT * FROM messages WHERE chat_id = ? ORDER BY message_id");
      for (const chat of chatRows) {
        const rows = rowsOf.all(chat.chat_id);
        chats.set(chat.chat_id, { messages: rows.length, hash: hashRows([chat, ...rows]) });
      }
      // Rows whose chat row is missing would escape the loop above: count them as a chat of their own.
      const orphans = prepareRetained(
        db,
        "SELECT * FROM messages WHERE chat_id NOT IN (SELECT chat_id FROM chats) ORDER BY chat_id, message_id",
      ).all();
      if (orphans.length > 0) chats.set("(messages without a chat row)", { messages: orphans.length, hash: hashRows(orphans) });
    } finally {
      db.close();
    }
  } catch (err) {
    integrity = `cannot read ${file}: ${(err as Error).message}`;
  }
  return { chats, files: await listFiles(dataDir), integrity };
}

export interface Change {
  kind: "chat" | "file";
  /** Chat id, or the file's path relative to the data directory. */
  key: string;
  before: string;
  after: string;
}

const describeChat = (c: ChatState | undefined) => (c ? `${c.messages} messages, rows ${c.hash.slice(0, 12)}` : "absent");

export function diffSnapshots(before: Snapshot, after: Snapshot): Change[] {
  const changes: Change[] = [];
  for (const id of new Set([...before.chats.keys(), ...after.chats.keys()])) {
    const a = before.chats.get(id);
    const b = after.chats.get(id);
    if (a?.hash !== b?.hash) changes.push({ kind: "chat", key: id, before: describeChat(a), after: describeChat(b) });
  }
  for (const f of new Set([...before.files.keys(), ...after.files.keys()])) {
    const a = before.files.get(f);
    const b = after.files.get(f);
    if (a !== b) changes.push({ kind: "file", key: f, before: a ?? "absent", after: b ?? "absent" });
  }
  return changes;
}

/** The chat id a data file belongs to (data/raw/<id>.jsonl, data/checkpoints/<id>.json, ...), if any. */
export function chatOfFile(rel: string): string | undefined {
  return /^(?:raw|preprocessed|checkpoints|storage)\/(-?\d{1,20})(?:\.[a-z0-9.]+)?$/.exec(rel.split(path.sep).join("/"))?.[1];
}
