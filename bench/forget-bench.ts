/**
 * What forgetting a chat costs on a big database: MessageStore.deleteChat deletes with secure_delete on, merges the
 * FTS5 index into one segment ('optimize', so the chat's terms leave the file) and truncates the WAL. The merge
 * rewrites the whole FTS index whatever the chat's size, so it is timed apart, and the insert rate with secure_delete
 * on and off is compared. Results: docs/performance.md ("Forgetting").
 *
 *   npm run bench:forget -- [export.json] [--copies K] [--dir DIR]
 *
 * Corpus: a Telegram export (default /work/shared/data/ubuntu-irc-train.json), written K times (default 1) as chats
 * of 20,000 messages plus one of 1,000 (forgotten first), with random vectors. Prints rows, file sizes, insert rate,
 * and the timings of deleteChat for the small chat and one of 20,000, and of a bare 'optimize' and checkpoint.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageStore, openDatabase, prepareRetained, type MessageRow } from "../services/storage/message-store.ts";

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const file = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ?? "/work/shared/data/ubuntu-irc-train.json";
const copies = Number(option("--copies") ?? 1);
const DIM = 384;
const CHAT_SIZE = 20_000;

const texts = (JSON.parse(readFileSync(file, "utf8")) as { messages: Array<{ type?: string; text?: unknown }> }).messages
  .map((m) => (typeof m.text === "string" ? m.text : ""))
  .filter((t) => t.length > 0);

function vector(): Buffer {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) norm += (v[i] = Math.random() - 0.5) ** 2;
  for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(norm);
  return Buffer.from(v.buffer);
}

/**
 * The store, and a second connection to the same file for the bench's own SQL (what MessageStore
 * does not offer: a plain DELETE, a bare 'optimize', the FTS5 size, a checkpoint).
 */
function build(dir: string, secureDelete: boolean): { store: MessageStore; raw: ReturnType<typeof openDatabase>; rows: number; seconds: number } {
  const store = new MessageStore(join(dir, "messages.db"), { secureDelete });
  const raw = openDatabase(join(dir, "messages.db"));
  raw.exec(`PRAGMA secure_delete = ${secureDelete ? "ON" : "OFF"}`);
  const t0 = performance.now();
  let seq = 1;
  let rows = 0;
  const chatOf = (n: number) => (n < 1_000 ? "1" : String(2 + Math.floor((n - 1_000) / CHAT_SIZE)));
  const insert = (batch: MessageRow[]) =>
    store.transaction(() => {
      for (const row of batch) store.insertMessage(row);
    });
  const chats = new Set<string>();
  let batch: MessageRow[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const text of texts) {
      const chat = chatOf(rows);
      if (!chats.has(chat)) {
        store.insertChat({ chat_id: chat, name: `Chat ${chat}`, type: "private_group", username: null, gen: seq });
        chats.add(chat);
      }
      batch.push({
        chat_id: chat,
        message_id: rows,
        seq: seq++,
        date: 1_600_000_000 + rows,
        sender_id: `user${rows % 50}`,
        sender: `User ${rows % 50}`,
        sender_key: `user ${rows % 50}`,
        text,
        clean_text: text,
        lang: "en",
        reply_to: null,
        forwarded_from: null,
        edited: null,
        media: null,
        vec: vector(),
      });
      rows++;
      if (batch.length === 1_000) {
        insert(batch);
        batch = [];
      }
    }
  }
  insert(batch);
  store.setNextSeq(seq);
  prepareRetained(raw, "PRAGMA wal_checkpoint(TRUNCATE)").get();
  return { store, raw, rows, seconds: (performance.now() - t0) / 1000 };
}

const ms = (f: () => unknown) => {
  const t0 = performance.now();
  f();
  return `${(performance.now() - t0).toFixed(0)} ms`;
};
const mb = (path: string) => `${(statSync(path).size / 1e6).toFixed(0)} MB`;

for (const secureDelete of [false, true]) {
  const dir = option("--dir") ?? mkdtempSync(join(tmpdir(), "tglens-forget-bench-"));
  const { store, raw, rows, seconds } = build(dir, secureDelete);
  console.log(
    `secure_delete ${secureDelete ? "ON" : "OFF"}: ${rows.toLocaleString("en")} rows inserted in ${seconds.toFixed(1)} s ` +
      `(${Math.round(rows / seconds).toLocaleString("en")} rows/s), db ${mb(join(dir, "messages.db"))}`,
  );
  if (!secureDelete) {
    // The delete as it was before forgetting wiped anything: rows only.
    const plain = (chat: string) => raw.exec(`DELETE FROM messages WHERE chat_id = '${chat}'; DELETE FROM chats WHERE chat_id = '${chat}'`);
    console.log(`  plain DELETE (1,000 messages): ${ms(() => plain("1"))}`);
    console.log(`  plain DELETE (${CHAT_SIZE.toLocaleString("en")} messages): ${ms(() => plain("2"))}`);
  } else {
    const fts = (prepareRetained(raw, "SELECT sum(length(block)) AS b FROM messages_fts_data").get() as { b: number }).b;
    console.log(`  FTS5 index ${(fts / 1e6).toFixed(0)} MB`);
    console.log(`  'optimize' of the index as imports left it: ${ms(() => raw.exec("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')"))}`);
    console.log(`  deleteChat (1,000 messages):  ${ms(() => store.deleteChat("1"))}`);
    console.log(`  deleteChat (${CHAT_SIZE.toLocaleString("en")} messages): ${ms(() => store.deleteChat("2"))}`);
  }
  raw.close();
  store.close();
  if (!option("--dir")) rmSync(dir, { recursive: true, force: true });
}
