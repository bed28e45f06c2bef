/**
 * What the storage tests share: deterministic synthetic unit vectors (tests only), messages built
 * from them, brute-force ground truth, a log that records, and the storage service over HTTP.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import type { EmbeddedMessage } from "../../../services/common/schemas.ts";
import { createStorageService } from "../../../services/storage/index.ts";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import type { SearchHit, Storage, StorageLogger } from "../../../services/storage/types.ts";
import { mulberry32 } from "../../helpers/random.ts";
import { axis, embeddedRecord } from "../../helpers/records.ts";

export const DIM = 384;
/** The date of message 0; message `id` is `id` minutes later. */
export const T0 = 1_700_000_000;

function normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** A deterministic random unit vector. */
export function unit(seed: number): number[] {
  const r = mulberry32(seed * 2654435761 + 17);
  return normalize(Array.from({ length: DIM }, () => r() - 0.5));
}

/** `v` moved a little in a random direction (cosine with v ≈ 1 - eps²/2). */
export function near(v: number[], eps: number, seed: number): number[] {
  const r = mulberry32(seed + 99991);
  return normalize(v.map((x) => x + (eps * (r() - 0.5)) / Math.sqrt(DIM / 12)));
}

export function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < DIM; i++) s += a[i]! * b[i]!;
  return s;
}

export const SENDERS = [
  { id: "user1", name: "Ann" },
  { id: "user2", name: "Bob" },
  { id: "user3", name: "Łukasz" },
];

/** Message `id` of `chat`: sender SENDERS[|id| % 3], words `word<id>` and `topic<id % 7>`, its own vector. */
export function msg(chat: string, id: number, over: Partial<EmbeddedMessage> = {}): EmbeddedMessage {
  const s = SENDERS[Math.abs(id) % 3]!;
  const text = `message ${id} in chat ${chat} word${id} topic${id % 7}`;
  return embeddedRecord(chat, id, unit(id + chat.length * 100_000), {
    chat: { id: chat, name: `Chat ${chat}`, type: "private_supergroup" },
    date: T0 + id * 60,
    sender: { id: s.id, name: s.name },
    text,
    clean_text: text,
    ...over,
  });
}

/** Messages `from`..`to` (inclusive) of `chat`. */
export function batch(chat: string, from: number, to: number): EmbeddedMessage[] {
  const out: EmbeddedMessage[] = [];
  for (let id = from; id <= to; id++) out.push(msg(chat, id));
  return out;
}

/** Brute-force top-k message ids over a set of messages (the ground truth for exact search). */
export function bruteForce(q: number[], msgs: EmbeddedMessage[], k: number): number[] {
  return msgs
    .map((m) => ({ id: m.message_id, s: cos(q, m.vector) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}

export const ids = (hits: SearchHit[]) => hits.map((h) => h.message_id);

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function captureLog(): StorageLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, m?: string) => lines.push({ level, obj, msg: m });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** One answer of every kind (each search mode, filters, the chat list), to compare a storage before and after a change. */
export async function sampleAnswers(s: Storage, bigChat: string, smallChat: string): Promise<unknown[]> {
  return [
    await s.searchSemantic(new Float32Array(unit(11)), 10, {}),
    await s.searchSemantic(new Float32Array(unit(12)), 10, { chat: bigChat }),
    await s.searchSemantic(new Float32Array(unit(13)), 10, { chat: smallChat, sender: "bob" }),
    await s.searchKeyword("topic4", 20, {}),
    await s.searchHybrid("topic2", new Float32Array(unit(14)), 10, { from: T0 + 3000 }),
    await s.chats(),
  ];
}

/** The storage service on a memory bus and a fresh directory; every query embeds to `queryVector` (by default the axis 2). */
export async function storageService(label: string, queryVector: number[] = axis(2)) {
  const dir = mkdtempSync(join(tmpdir(), `tglens-storage-${label}-`));
  const bus = createMemoryBus();
  const storage = await openStorage({ dir: join(dir, "storage") });
  const service = await createStorageService({
    bus,
    storage,
    queryEmbedder: { embed: async () => Float32Array.from(queryVector), ready: async () => true },
    log: createLogger({ level: "silent" }),
    config: { maxBodyBytes: 1 << 20 },
  });
  return {
    bus,
    storage,
    service,
    async close() {
      await service.stop();
      await service.app.close();
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
