/**
 * openStorage(): the storage library behind the storage service.
 *
 * SQLite (message-store.ts) is the source of truth: every message row carries its float32 vector
 * and a global, strictly increasing `seq`. Vector indexes (vector-index.ts) are per chat and
 * derived from it:
 *
 *  - a chat with at most `hnswThreshold` vectors is searched exactly (usearch exactSearch over an
 *    in-memory matrix). It has no file: on load it is read back from SQLite (≈ 10k rows: tens of ms);
 *  - past the threshold it becomes a usearch HNSW index, saved to `<dir>/index/<chat>.usearch` with a
 *    sidecar `<chat>.usearch.json` = { seq, gen, size, params }: `seq` is the highest row seq the
 *    saved index contains, `gen` the chat row's creation seq. The HNSW index is built in the
 *    background, in short slices (promote()); exact search answers until it holds every vector.
 *
 * Crash safety (DESIGN §4). upsert() commits to SQLite first (one transaction per batch) and then
 * applies the batch to the in-memory index; saving is debounced. Index and sidecar are each written
 * to a temp file, fsynced, renamed and the directory fsynced, index first. On load, a chat's index
 * file is loaded and every row with seq > sidecar.seq is re-applied (add replaces an existing key,
 * so a re-applied row never duplicates); if the sidecar is missing, unreadable, from another
 * generation of the chat or other parameters, or if the index size then disagrees with SQLite's
 * row count, the index is rebuilt from SQLite (in the background, exact search meanwhile). So a
 * kill -9 at any moment loses no message that upsert() returned for and creates no duplicate.
 * deleteChat() deletes the rows first (one transaction), then the files; files of chats that no
 * longer exist are removed on open.
 *
 * Indexes are loaded lazily, on a chat's first search or upsert after open.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import usearch from "usearch";
import { TglensError } from "../common/errors.ts";
import { EMBEDDING_DIM, MAX_ABS_MESSAGE_ID, MAX_UNIX_SECONDS, type EmbeddedMessage } from "../common/schemas.ts";
import { removeStaleTemps, replaceFileAtomic, unlinkDurable, writeFileAtomic } from "../common/atomic-file.ts";
import { buildFtsQuery } from "./fts-query.ts";
import { type ChatRow, type FilterSql, filterSql, MessageStore, type MessageRow } from "./message-store.ts";
import type {
  ChatStats,
  ChatSummary,
  HnswParams,
  Quantization,
  SearchFilters,
  SearchHit,
  Storage,
  StorageLogger,
  StorageOptions,
  StorageStats,
  StoredMessage,
  UpsertResult,
} from "./types.ts";
import { DIMENSIONS, ExactIndex, freshQuery, HnswIndex, indexKey, messageIdOfKey, type IndexMatches, type VectorIndex } from "./vector-index.ts";

export type * from "./types.ts";

/**
 * Defaults, chosen by bench/storage-bench.ts on the 196k-message Ubuntu IRC corpus embedded with
 * all-MiniLM-L6-v2, 200 held-out messages as queries (figures in that file's header):
 *  - hnswThreshold 10k: exact search p50 1.5 ms at 10k vectors, 4.1 ms at 15k (one thread);
 *  - f16, M = 32, ef_add = 128; f16 loses no recall against f32 (0.9405 vs 0.93 tie-aware at
 *    M = 16, ef 128) at half the memory and a faster build;
 *  - ef_search = 384: with the 2× over-fetch re-scored by the stored float32 vectors, recall@10
 *    0.9855 counting ties (chat text repeats, so many vectors are equal and which of them make an
 *    exact top 10 is arbitrary; by id 0.9275), p50 3.2 ms, p99 5.1 ms on 196k. ef 128: 0.965 /
 *    1.4 ms; ef 256: 0.9805 / 2.2 ms; ef 512: 0.987 / 3.8 ms (bench/storage-bench.ts header).
 *    Results are re-scored with the stored float32 vectors, so scores are exact cosines.
 */
export const DEFAULTS = {
  hnswThreshold: 10_000,
  saveDebounceMs: 2_000,
  maxSaveDelayMs: 30_000,
  quantization: "f16" as Quantization,
  hnsw: { connectivity: 32, expansionAdd: 128, expansionSearch: 384 } satisfies HnswParams,
  /**
   * A filtered search on an HNSW chat with at most this many matching rows scans them exactly
   * (measured: 1-2k rows 13 ms exact vs 80 ms over-fetching; 2-4k rows 19 vs 218 ms).
   */
  exactFilterMax: 4_096,
  /** Reciprocal-rank-fusion constant (Cormack, Clarke & Büttcher 2009). */
  rrfK: 60,
  maxK: 1_000,
  /** Senders listed by chatStats(). */
  topSenders: 5,
};

/** 2: keys are indexKey(message_id) (version 1 files, keyed by the raw id, are rebuilt). */
const INDEX_FILE_VERSION = 2;
/** Background HNSW build: work at most this long per event-loop turn, this many vectors per add. */
const PROMOTE_SLICE_MS = 25;
const PROMOTE_BATCH = 32;
const CHUNK_ROWS = 4_096;
/** Two unit vectors with a dot product at least this are treated as the same embedding. */
const SAME_VECTOR_DOT = 1 - 1e-6;

interface IndexSidecar {
  version: number;
  chat_id: string;
  gen: number;
  seq: number;
  size: number;
  dimensions: number;
  metric: "cos";
  quantization: Quantization;
  connectivity: number;
}

interface LoadedChat {
  chatId: string;
  gen: number;
  index: VectorIndex;
  /** Highest row seq reflected in `index`. */
  appliedSeq: number;
  /** When the first unsaved change happened (HNSW only), or null when the file is current. */
  dirtySince: number | null;
  /** An HNSW index being built in the background from the exact one (see promote()). */
  building?: { hnsw: HnswIndex; keys: number[]; next: number; started: number; busyMs: number };
}

const noopLog: StorageLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** File name stem for a chat id: [A-Za-z0-9_-] kept, every other UTF-8 byte as %XX (injective). */
export function chatFileStem(chatId: string): string {
  let out = "";
  for (const ch of chatId) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function unitVector(v: ArrayLike<number>): Float32Array | undefined {
  if (!v || v.length !== DIMENSIONS) return undefined;
  let norm = 0;
  for (let i = 0; i < DIMENSIONS; i++) {
    const x = v[i]!;
    if (typeof x !== "number" || !Number.isFinite(x)) return undefined;
    norm += x * x;
  }
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  const inv = 1 / Math.sqrt(norm);
  const out = new Float32Array(DIMENSIONS);
  for (let i = 0; i < DIMENSIONS; i++) out[i] = v[i]! * inv;
  return out;
}

function vecToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Copies a stored vector BLOB into `dst` at row `row` (BLOBs need not be 4-byte aligned). */
function blobInto(blob: Buffer, dst: Float32Array, row: number): void {
  if (blob.length !== DIMENSIONS * 4) throw new Error(`stored vector has ${blob.length} bytes`);
  new Uint8Array(dst.buffer, dst.byteOffset + row * DIMENSIONS * 4, DIMENSIONS * 4).set(blob);
}

function blobToVec(blob: Buffer): Float32Array {
  const v = new Float32Array(DIMENSIONS);
  blobInto(blob, v, 0);
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < DIMENSIONS; i++) s += a[i]! * b[i]!;
  return s;
}

function clampScore(x: number): number {
  return x > 1 ? 1 : x < -1 ? -1 : x;
}

interface PreparedMessage {
  msg: EmbeddedMessage;
  vec: Float32Array;
  senderKey: string | null;
}

function bad(index: number, msg: EmbeddedMessage | undefined, reason: string): never {
  throw new TglensError("TGLENS_SCHEMA", `store batch item ${index}: ${reason}`, {
    details: { index, chat_id: msg?.chat?.id, message_id: msg?.message_id, reason },
  });
}

function prepareMessage(msg: EmbeddedMessage, i: number): PreparedMessage {
  if (!msg || typeof msg !== "object") bad(i, undefined, "not an object");
  if (!msg.chat || typeof msg.chat.id !== "string" || msg.chat.id.length === 0) bad(i, msg, "chat.id missing");
  if (!Number.isSafeInteger(msg.message_id) || Math.abs(msg.message_id) > MAX_ABS_MESSAGE_ID) bad(i, msg, `message_id must be an integer from -${MAX_ABS_MESSAGE_ID} to ${MAX_ABS_MESSAGE_ID}`);
  if (!Number.isSafeInteger(msg.date) || msg.date < 0 || msg.date > MAX_UNIX_SECONDS) bad(i, msg, `date must be unix seconds from 0 to ${MAX_UNIX_SECONDS}`);
  if (typeof msg.text !== "string" || typeof msg.clean_text !== "string") bad(i, msg, "text and clean_text must be strings");
  if (!Array.isArray(msg.vector) && !ArrayBuffer.isView(msg.vector)) bad(i, msg, "vector missing");
  if (msg.vector.length !== EMBEDDING_DIM) bad(i, msg, `vector must have ${EMBEDDING_DIM} entries`);
  const vec = unitVector(msg.vector);
  if (!vec) bad(i, msg, "vector has a non-finite entry or is zero");
  const name = msg.sender?.name ?? null;
  return { msg, vec, senderKey: name === null ? null : name.normalize("NFC").toLowerCase() };
}

function validK(k: number): number {
  if (typeof k !== "number" || !Number.isFinite(k) || k < 1) {
    throw new TglensError("TGLENS_BAD_REQUEST", "k must be a number ≥ 1");
  }
  return Math.min(Math.floor(k), DEFAULTS.maxK);
}

function validFilters(f: SearchFilters | undefined): SearchFilters {
  const filters = f ?? {};
  for (const key of ["from", "to"] as const) {
    const v = filters[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) {
      throw new TglensError("TGLENS_BAD_REQUEST", `filter ${key} must be unix seconds`);
    }
  }
  for (const key of ["chat", "sender"] as const) {
    const v = filters[key];
    if (v !== undefined && typeof v !== "string") throw new TglensError("TGLENS_BAD_REQUEST", `filter ${key} must be a string`);
  }
  return filters;
}

function queryVector(v: Float32Array | readonly number[]): Float32Array {
  const q = unitVector(v as ArrayLike<number>);
  if (!q) throw new TglensError("TGLENS_BAD_REQUEST", `query vector must have ${DIMENSIONS} finite entries, not all zero`);
  return q;
}

function hitOrder(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || b.date - a.date || (a.chat_id < b.chat_id ? -1 : a.chat_id > b.chat_id ? 1 : 0) || a.message_id - b.message_id;
}

function stripVec(row: StoredMessage & { vec?: Buffer }, score: number): SearchHit {
  const { vec: _vec, ...rest } = row;
  return { ...rest, score };
}

/** What openStorage returns: the Storage interface plus maintenance calls for tools and tests. */
export interface StorageHandle extends Storage {
  /** Completes background HNSW builds now, then flush(). A build left unfinished by close() restarts on the next open. */
  whenIdle(): Promise<void>;
}

export function openStorage(opts: StorageOptions): StorageHandle {
  const log = opts.log ?? noopLog;
  const threshold = opts.hnswThreshold ?? DEFAULTS.hnswThreshold;
  const saveDebounceMs = opts.saveDebounceMs ?? DEFAULTS.saveDebounceMs;
  const maxSaveDelayMs = Math.max(opts.maxSaveDelayMs ?? DEFAULTS.maxSaveDelayMs, saveDebounceMs);
  const quantization = opts.quantization ?? DEFAULTS.quantization;
  const hnswParams: HnswParams = { ...DEFAULTS.hnsw, ...opts.hnsw };
  const threads = opts.threads ?? availableParallelism();
  const exactFilterMax = opts.exactFilterMax ?? DEFAULTS.exactFilterMax;
  if (!Number.isInteger(threshold) || threshold < 1) throw new TglensError("TGLENS_CONFIG", "hnswThreshold must be an integer ≥ 1");
  if (!["f32", "f16", "i8"].includes(quantization)) throw new TglensError("TGLENS_CONFIG", `unknown quantization ${quantization}`);

  const dir = opts.dir;
  const indexDir = join(dir, "index");
  mkdirSync(indexDir, { recursive: true });
  const store = new MessageStore(join(dir, "messages.db"));

  const loaded = new Map<string, LoadedChat>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const indexPath = (chatId: string) => join(indexDir, `${chatFileStem(chatId)}.usearch`);
  const sidecarPath = (chatId: string) => `${indexPath(chatId)}.json`;

  // ---- open: clear what a crash or a deletion may have left in index/ ---------------------------
  {
    const temps = removeStaleTemps(indexDir);
    if (temps.length) log.warn({ files: temps }, "storage: removed temp files left by a crash");
    const live = new Set<string>();
    for (const c of store.allChats()) {
      const p = indexPath(c.chat_id);
      live.add(p.slice(indexDir.length + 1));
      live.add(`${p}.json`.slice(indexDir.length + 1));
    }
    const orphans = readdirSync(indexDir)
      .filter((n) => !live.has(n))
      .map((n) => join(indexDir, n));
    if (orphans.length) {
      unlinkDurable(orphans);
      log.info({ files: orphans.length }, "storage: removed index files of deleted chats");
    }
  }

  function assertOpen(): void {
    if (closed) throw new TglensError("TGLENS_NOT_READY", "storage is closed");
  }

  // ---- loading ------------------------------------------------------------------------------------

  function newHnsw(): HnswIndex {
    return new HnswIndex({ ...hnswParams, quantization, threads });
  }

  /** Adds every row of the chat with seq > afterSeq to `index`, in chunks. Returns rows added. */
  function addRows(index: VectorIndex, chatId: string, afterSeq: number): number {
    let keys: number[] = [];
    let buf = new Float32Array(CHUNK_ROWS * DIMENSIONS);
    let total = 0;
    const flush = () => {
      if (keys.length === 0) return;
      index.add(keys, buf.subarray(0, keys.length * DIMENSIONS));
      total += keys.length;
      keys = [];
      buf = new Float32Array(CHUNK_ROWS * DIMENSIONS);
    };
    for (const page of store.vectorPages(chatId, afterSeq, CHUNK_ROWS)) {
      for (const [id, , blob] of page) {
        blobInto(blob, buf, keys.length);
        keys.push(indexKey(id));
        if (keys.length === CHUNK_ROWS) flush();
      }
    }
    flush();
    return total;
  }

  function readSidecar(chat: ChatRow): IndexSidecar | undefined {
    try {
      const s = JSON.parse(readFileSync(sidecarPath(chat.chat_id), "utf8")) as IndexSidecar;
      const ok =
        s.version === INDEX_FILE_VERSION &&
        s.chat_id === chat.chat_id &&
        s.gen === chat.gen &&
        s.dimensions === DIMENSIONS &&
        s.metric === "cos" &&
        s.quantization === quantization &&
        s.connectivity === hnswParams.connectivity &&
        Number.isSafeInteger(s.seq);
      return ok ? s : undefined;
    } catch {
      return undefined;
    }
  }

  function loadChat(chat: ChatRow): LoadedChat {
    const t0 = performance.now();
    const count = store.countMessages(chat.chat_id);
    const appliedSeq = store.maxSeq(chat.chat_id);
    let lc: LoadedChat;
    if (count <= threshold) {
      const index = new ExactIndex(Math.max(64, count));
      addRows(index, chat.chat_id, 0);
      // A file from when the chat was bigger or the threshold lower is no longer wanted.
      unlinkDurable([indexPath(chat.chat_id), sidecarPath(chat.chat_id)]);
      lc = { chatId: chat.chat_id, gen: chat.gen, index, appliedSeq, dirtySince: null };
    } else {
      let index: HnswIndex | undefined;
      let replayed = 0;
      let how = "loaded";
      const side = readSidecar(chat);
      if (side) {
        try {
          index = newHnsw();
          index.load(indexPath(chat.chat_id));
          replayed = addRows(index, chat.chat_id, side.seq);
          if (index.size() !== count) {
            log.warn({ chat: chat.chat_id, index: index.size(), rows: count }, "storage: index disagrees with SQLite, rebuilding");
            index = undefined;
          }
        } catch (err) {
          log.warn({ chat: chat.chat_id, err: (err as Error).message }, "storage: cannot load index, rebuilding");
          index = undefined;
        }
      }
      if (index) {
        const current = replayed === 0;
        lc = { chatId: chat.chat_id, gen: chat.gen, index, appliedSeq, dirtySince: current ? null : Date.now() };
      } else {
        // No usable file: serve exact search from the rows and build the HNSW index in the
        // background (promote() below), rather than block this call for the whole build.
        how = "rebuilding";
        const exact = new ExactIndex(count);
        addRows(exact, chat.chat_id, 0);
        lc = { chatId: chat.chat_id, gen: chat.gen, index: exact, appliedSeq, dirtySince: null };
      }
      log.info(
        { chat: chat.chat_id, vectors: count, how, replayed, ms: Math.round(performance.now() - t0) },
        "storage: chat index opened",
      );
    }
    loaded.set(chat.chat_id, lc);
    if (lc.dirtySince !== null) scheduleSave();
    promote(lc);
    return lc;
  }

  function chatIndex(chat: ChatRow): LoadedChat {
    const lc = loaded.get(chat.chat_id);
    if (lc && lc.gen === chat.gen) return lc;
    return loadChat(chat);
  }

  // ---- saving -------------------------------------------------------------------------------------

  function saveChat(lc: LoadedChat): void {
    if (!(lc.index instanceof HnswIndex) || lc.dirtySince === null) return;
    const t0 = performance.now();
    const index = lc.index;
    const side: IndexSidecar = {
      version: INDEX_FILE_VERSION,
      chat_id: lc.chatId,
      gen: lc.gen,
      seq: lc.appliedSeq,
      size: index.size(),
      dimensions: DIMENSIONS,
      metric: "cos",
      quantization,
      connectivity: hnswParams.connectivity,
    };
    // Index first (renamed and the directory fsynced), then the sidecar: a crash in between leaves a
    // newer index with an older seq, and replaying rows that are already in it is harmless.
    replaceFileAtomic(indexPath(lc.chatId), (tmp) => index.save(tmp));
    writeFileAtomic(sidecarPath(lc.chatId), JSON.stringify(side));
    lc.dirtySince = null;
    log.debug({ chat: lc.chatId, vectors: side.size, seq: side.seq, ms: Math.round(performance.now() - t0) }, "storage: index saved");
  }

  function saveDirty(): void {
    let failed = false;
    for (const lc of loaded.values()) {
      try {
        saveChat(lc);
      } catch (err) {
        failed = true;
        log.error({ chat: lc.chatId, err: (err as Error).message }, "storage: saving index failed; will retry");
      }
    }
    if (failed) scheduleSave();
  }

  function scheduleSave(): void {
    if (closed) return;
    const now = Date.now();
    let due = now + saveDebounceMs;
    let any = false;
    for (const lc of loaded.values()) {
      if (lc.dirtySince === null) continue;
      any = true;
      due = Math.min(due, lc.dirtySince + maxSaveDelayMs);
    }
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!any) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        if (!closed) saveDirty();
      },
      Math.max(0, due - now),
    );
    timer.unref();
  }

  // ---- applying a committed batch to the in-memory indexes ----------------------------------------

  /**
   * A chat that grew past the threshold gets its HNSW index built in the background, in slices of
   * at most PROMOTE_SLICE_MS per event-loop turn, so an upsert never blocks for the whole build;
   * meanwhile the exact index keeps answering (and stays exact). Changes that arrive during the
   * build go to both. When the build has every key, the HNSW index replaces the exact one.
   */
  function promote(lc: LoadedChat): void {
    if (!(lc.index instanceof ExactIndex) || lc.index.size() <= threshold || lc.building) return;
    const exact = lc.index;
    const build = { hnsw: newHnsw(), keys: exact.keys(), next: 0, started: performance.now(), busyMs: 0 };
    lc.building = build;
    const step = () => {
      if (closed || loaded.get(lc.chatId) !== lc || lc.building !== build) return; // closed or deleted
      const t0 = performance.now();
      while (build.next < build.keys.length && performance.now() - t0 < PROMOTE_SLICE_MS) {
        const slice = build.keys.slice(build.next, build.next + PROMOTE_BATCH);
        build.next += slice.length;
        addFromExact(build.hnsw, exact, slice);
      }
      build.busyMs += performance.now() - t0;
      if (build.next < build.keys.length) {
        setImmediate(step).unref();
        return;
      }
      finishPromotion(lc);
    };
    setImmediate(step).unref();
  }

  function addFromExactOrMap(hnsw: HnswIndex, keys: readonly number[], vectors: Map<number, Float32Array>): void {
    const vecs = new Float32Array(keys.length * DIMENSIONS);
    keys.forEach((k, i) => vecs.set(vectors.get(k)!, i * DIMENSIONS));
    hnsw.add(keys, vecs);
  }

  function addFromExact(hnsw: HnswIndex, exact: ExactIndex, keys: readonly number[]): void {
    const present = keys.filter((k) => exact.has(k));
    const vecs = new Float32Array(present.length * DIMENSIONS);
    present.forEach((k, i) => vecs.set(exact.vectorOf(k)!, i * DIMENSIONS));
    hnsw.add(present, vecs);
  }

  /** Completes a background build now (whenIdle() calls this; normally the slices do). */
  function finishPromotion(lc: LoadedChat): void {
    const build = lc.building;
    if (!build || !(lc.index instanceof ExactIndex)) return;
    const exact = lc.index;
    if (build.next < build.keys.length) {
      const t0 = performance.now();
      addFromExact(build.hnsw, exact, build.keys.slice(build.next));
      build.next = build.keys.length;
      build.busyMs += performance.now() - t0;
    }
    lc.building = undefined;
    lc.index = build.hnsw;
    lc.dirtySince = Date.now();
    log.info(
      {
        chat: lc.chatId,
        vectors: build.hnsw.size(),
        busy_ms: Math.round(build.busyMs),
        wall_ms: Math.round(performance.now() - build.started),
      },
      "storage: chat switched to HNSW",
    );
    scheduleSave();
  }

  function apply(lc: LoadedChat, changes: Map<number, Float32Array>, maxSeq: number): void {
    if (changes.size > 0) {
      const keys = [...changes.keys()];
      const vecs = new Float32Array(keys.length * DIMENSIONS);
      keys.forEach((k, i) => vecs.set(changes.get(k)!, i * DIMENSIONS));
      lc.index.add(keys, vecs);
      const build = lc.building;
      if (build) {
        // Keys the build already has are replaced in it now; new keys join its queue; keys still
        // queued will be read from the exact index (already updated) when their turn comes.
        const snapshot = new Set(build.keys);
        const done = keys.filter((k) => build.hnsw.has(k));
        if (done.length) addFromExactOrMap(build.hnsw, done, changes);
        for (const k of keys) if (!snapshot.has(k)) build.keys.push(k);
      }
    }
    lc.appliedSeq = Math.max(lc.appliedSeq, maxSeq);
    promote(lc);
    if (lc.index instanceof HnswIndex && lc.dirtySince === null) lc.dirtySince = Date.now();
  }

  // ---- upsert -------------------------------------------------------------------------------------

  function sameFields(row: MessageRow, p: PreparedMessage): boolean {
    const m = p.msg;
    return (
      row.date === m.date &&
      row.sender_id === (m.sender?.id ?? null) &&
      row.sender === (m.sender?.name ?? null) &&
      row.text === m.text &&
      row.clean_text === m.clean_text &&
      row.lang === m.lang &&
      row.reply_to === (m.reply_to ?? null) &&
      row.forwarded_from === (m.forwarded_from ?? null) &&
      row.edited === (m.edited ?? null) &&
      row.media === (m.media ?? null)
    );
  }

  function sameVector(blob: Buffer, v: Float32Array): boolean {
    const nb = vecToBlob(v);
    if (blob.equals(nb)) return true;
    return dot(blobToVec(blob), v) >= SAME_VECTOR_DOT;
  }

  function upsert(batch: readonly EmbeddedMessage[]): UpsertResult {
    assertOpen();
    const result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0 };
    if (!Array.isArray(batch) || batch.length === 0) return result;
    const prepared = batch.map(prepareMessage);

    // Load touched chats' indexes before the transaction, so they reflect the state before it.
    const chatIds = [...new Set(prepared.map((p) => p.msg.chat.id))];
    for (const id of chatIds) {
      const chat = store.getChat(id);
      if (chat) chatIndex(chat);
    }

    const changes = new Map<string, { vectors: Map<number, Float32Array>; maxSeq: number; gen: number }>();
    const run = store.db.transaction(() => {
      let seq = store.nextSeq();
      const startSeq = seq;
      const chats = new Map<string, ChatRow>();
      for (const p of prepared) {
        const m = p.msg;
        const chatId = m.chat.id;
        let chat = chats.get(chatId) ?? store.getChat(chatId);
        // Only live reading knows a chat's username: a message without one (from an export of the
        // same chat) keeps the stored one.
        const username = m.chat.username ?? chat?.username ?? null;
        if (!chat) {
          chat = { chat_id: chatId, name: m.chat.name, type: m.chat.type, username, gen: seq++ };
          store.insertChat(chat);
        } else if (chat.name !== m.chat.name || chat.type !== m.chat.type || chat.username !== username) {
          chat = { ...chat, name: m.chat.name, type: m.chat.type, username };
          store.updateChat(chat);
        }
        chats.set(chatId, chat);

        const existing = store.getMessage(chatId, m.message_id);
        let vecChanged = true;
        if (existing) {
          // A redelivered older version (edited earlier than what is stored) never overwrites.
          if ((m.edited ?? 0) < (existing.edited ?? 0)) {
            result.unchanged++;
            continue;
          }
          vecChanged = !sameVector(existing.vec, p.vec);
          if (!vecChanged && sameFields(existing, p)) {
            result.unchanged++;
            continue;
          }
        }
        const row: MessageRow = {
          chat_id: chatId,
          message_id: m.message_id,
          seq: seq++,
          date: m.date,
          sender_id: m.sender?.id ?? null,
          sender: m.sender?.name ?? null,
          sender_key: p.senderKey,
          text: m.text,
          clean_text: m.clean_text,
          lang: m.lang,
          reply_to: m.reply_to ?? null,
          forwarded_from: m.forwarded_from ?? null,
          edited: m.edited ?? null,
          media: m.media ?? null,
          // An embedding equal up to float noise keeps its stored bytes: the index stays as it is.
          vec: existing && !vecChanged ? existing.vec : vecToBlob(p.vec),
        };
        if (existing) {
          store.updateMessage(row);
          result.updated++;
        } else {
          store.insertMessage(row);
          result.inserted++;
        }
        let c = changes.get(chatId);
        if (!c) changes.set(chatId, (c = { vectors: new Map(), maxSeq: 0, gen: chat.gen }));
        if (vecChanged) c.vectors.set(indexKey(m.message_id), p.vec);
        c.maxSeq = row.seq;
      }
      if (seq !== startSeq) store.setNextSeq(seq);
    });
    run.immediate();

    // Committed. Now the in-memory indexes; a failure here loses nothing (SQLite has the rows):
    // the chat's index is dropped and reloaded (file + replay) on next use.
    let dirty = false;
    for (const [chatId, c] of changes) {
      try {
        let lc = loaded.get(chatId);
        if (!lc || lc.gen !== c.gen) {
          // A chat created by this batch: start an empty exact index (nothing was there before).
          lc = { chatId, gen: c.gen, index: new ExactIndex(), appliedSeq: 0, dirtySince: null };
          loaded.set(chatId, lc);
        }
        apply(lc, c.vectors, c.maxSeq);
        if (lc.dirtySince !== null) dirty = true;
      } catch (err) {
        loaded.delete(chatId);
        log.error({ chat: chatId, err: (err as Error).message }, "storage: index update failed; will reload from SQLite");
      }
    }
    if (dirty) scheduleSave();
    return result;
  }

  // ---- semantic search ----------------------------------------------------------------------------

  interface Candidate {
    chatId: string;
    id: number;
    distance: number;
  }

  /** Exact scan of the filtered rows of one chat, vectors read from SQLite. */
  function exactOverRows(rows: Array<[number, Buffer]>, q: Float32Array, want: number): IndexMatches {
    const n = rows.length;
    const k = Math.min(want, n);
    if (k === 0) return { keys: [], distances: [] };
    const matrix = new Float32Array(n * DIMENSIONS);
    const ids: number[] = new Array(n);
    rows.forEach(([id, blob], i) => {
      ids[i] = id;
      blobInto(blob, matrix, i);
    });
    const m = usearch.exactSearch(matrix, freshQuery(q), DIMENSIONS, k, "cos" as never, 1);
    const keys: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < k; i++) {
      keys.push(ids[Number(m.keys[i])]!);
      distances.push(m.distances[i]!);
    }
    return { keys, distances };
  }

  /** The index's nearest neighbours, with keys turned back into message ids. */
  function searchIndex(lc: LoadedChat, q: Float32Array, k: number): IndexMatches {
    const m = lc.index.search(q, k);
    return { keys: m.keys.map(messageIdOfKey), distances: m.distances };
  }

  /** Nearest messages of one chat (keys of the result are message ids). */
  function searchChat(chat: ChatRow, q: Float32Array, want: number, f: FilterSql): IndexMatches {
    const lc = chatIndex(chat);
    const total = lc.index.size();
    if (total === 0) return { keys: [], distances: [] };
    const hnsw = lc.index.kind === "hnsw";
    // HNSW does not promise to return every vector when asked for most of them: a search that
    // wants half the chat or more scans the rows exactly instead.
    const mostOf = (n: number) => hnsw && n * 2 >= total;
    if (f.empty) return mostOf(want) ? exactOverRows(store.vectorsMatching(chat.chat_id, f), q, want) : searchIndex(lc, q, want);
    // Counting stops at `cap`: past it, the exact scan is out and a rough selectivity will do
    // (a capped count only makes the first over-fetch larger). Counting a whole big date range
    // would otherwise cost more than the search.
    const cap = Math.max(exactFilterMax + 1, Math.ceil(total / 8));
    const matching = store.countMatching(chat.chat_id, f, cap);
    if (matching === 0) return { keys: [], distances: [] };
    if (hnsw && matching <= exactFilterMax) return exactOverRows(store.vectorsMatching(chat.chat_id, f), q, want);
    // Over-fetch by the inverse of the filter's selectivity, then grow until enough or exhausted.
    let fetch = Math.min(total, Math.ceil((want * total * 1.5) / matching) + 16);
    for (;;) {
      if (mostOf(fetch)) return exactOverRows(store.vectorsMatching(chat.chat_id, f), q, want);
      const res = searchIndex(lc, q, fetch);
      const ok = store.matchingIds(chat.chat_id, res.keys, f);
      const keys: number[] = [];
      const distances: number[] = [];
      for (let i = 0; i < res.keys.length && keys.length < want; i++) {
        if (ok.has(res.keys[i]!)) {
          keys.push(res.keys[i]!);
          distances.push(res.distances[i]!);
        }
      }
      if (keys.length >= want || fetch >= total || res.keys.length < fetch) return { keys, distances };
      fetch = Math.min(total, fetch * 4);
    }
  }

  function searchSemantic(queryVec: Float32Array | readonly number[], k: number, filters: SearchFilters): SearchHit[] {
    assertOpen();
    const want = validK(k);
    const f0 = validFilters(filters);
    const q = queryVector(queryVec);
    const f = filterSql(f0);
    let chats: ChatRow[];
    if (f0.chat !== undefined) {
      const c = store.getChat(f0.chat);
      chats = c ? [c] : [];
    } else {
      chats = store.allChats();
    }
    // With a quantized index, fetch extra and re-rank by the exact float32 score.
    const perChat = quantization === "f32" ? want : Math.min(DEFAULTS.maxK, want * 2);
    let cands: Candidate[] = [];
    for (const chat of chats) {
      const m = searchChat(chat, q, perChat, f);
      for (let i = 0; i < m.keys.length; i++) cands.push({ chatId: chat.chat_id, id: m.keys[i]!, distance: m.distances[i]! });
    }
    cands.sort((a, b) => a.distance - b.distance);
    cands = cands.slice(0, perChat);
    return materialize(cands, q).slice(0, want);
  }

  /** Reads the rows of the candidates and scores them by the exact cosine with the stored vector. */
  function materialize(cands: Candidate[], q: Float32Array): SearchHit[] {
    const byChat = new Map<string, number[]>();
    for (const c of cands) {
      let ids = byChat.get(c.chatId);
      if (!ids) byChat.set(c.chatId, (ids = []));
      ids.push(c.id);
    }
    const hits: SearchHit[] = [];
    for (const [chatId, ids] of byChat) {
      for (const row of store.hitsByIds(chatId, ids)) {
        hits.push(stripVec(row, clampScore(dot(q, blobToVec(row.vec)))));
      }
    }
    return hits.sort(hitOrder);
  }

  // ---- keyword and hybrid search ------------------------------------------------------------------

  function searchKeyword(query: string, k: number, filters: SearchFilters): SearchHit[] {
    assertOpen();
    const want = validK(k);
    const f0 = validFilters(filters);
    if (typeof query !== "string") throw new TglensError("TGLENS_BAD_REQUEST", "query must be a string");
    const fq = buildFtsQuery(query);
    if (!fq) return [];
    const f = filterSql(f0);
    // All terms first; if that finds fewer than k, fill up with messages matching any term.
    const hits = store.keyword(fq.all, want, f0.chat, f);
    if (hits.length < want && fq.terms > 1) {
      const seen = new Set(hits.map((h) => `${h.chat_id}\u0000${h.message_id}`));
      for (const h of store.keyword(fq.any, want, f0.chat, f)) {
        if (hits.length >= want) break;
        if (!seen.has(`${h.chat_id}\u0000${h.message_id}`)) hits.push(h);
      }
    }
    return hits.map((h) => ({ ...h }));
  }

  function searchHybrid(query: string, queryVec: Float32Array | readonly number[], k: number, filters: SearchFilters): SearchHit[] {
    assertOpen();
    const want = validK(k);
    // Each list is fetched deeper than k so that fusion can promote items ranked lower in one list.
    const depth = Math.min(DEFAULTS.maxK, Math.max(want * 3, 50));
    const semantic = searchSemantic(queryVec, depth, filters);
    const keyword = searchKeyword(query, depth, filters);
    const fused = new Map<string, { hit: SearchHit; score: number; sem: number }>();
    const add = (list: SearchHit[], isSemantic: boolean) =>
      list.forEach((h, i) => {
        const key = `${h.chat_id}\u0000${h.message_id}`;
        let e = fused.get(key);
        if (!e) fused.set(key, (e = { hit: h, score: 0, sem: -2 }));
        e.score += 1 / (DEFAULTS.rrfK + i + 1);
        if (isSemantic) e.sem = h.score;
      });
    add(semantic, true);
    add(keyword, false);
    return [...fused.values()]
      .sort((a, b) => b.score - a.score || b.sem - a.sem || hitOrder(a.hit, b.hit))
      .slice(0, want)
      .map((e) => ({ ...e.hit, score: e.score }));
  }

  // ---- chats, deletion, stats, lifecycle ----------------------------------------------------------

  function deleteChat(chatId: string): boolean {
    assertOpen();
    const existed = store.deleteChat(chatId);
    loaded.delete(chatId);
    unlinkDurable([indexPath(chatId), sidecarPath(chatId)]);
    if (existed) log.info({ chat: chatId }, "storage: chat deleted");
    return existed;
  }

  function stats(): StorageStats {
    assertOpen();
    const { chats, messages } = store.countAll();
    let indexBytes = 0;
    for (const name of readdirSync(indexDir)) {
      if (!name.endsWith(".usearch")) continue;
      try {
        indexBytes += statSync(join(indexDir, name)).size;
      } catch {
        // deleted meanwhile
      }
    }
    return { chats, messages, indexBytes };
  }

  async function flush(): Promise<void> {
    assertOpen();
    if (timer) clearTimeout(timer);
    timer = undefined;
    let firstError: unknown;
    for (const lc of loaded.values()) {
      try {
        saveChat(lc);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) {
      scheduleSave();
      throw new TglensError("TGLENS_INTERNAL", `saving an index failed: ${(firstError as Error).message}`, { cause: firstError });
    }
  }

  /**
   * Finishes every background HNSW build now (blocking: ~1 ms per vector still to add) and saves.
   * For tools, tests and benchmarks that want the final index; the service need not call it.
   */
  async function whenIdle(): Promise<void> {
    assertOpen();
    for (const lc of loaded.values()) finishPromotion(lc);
    await flush();
  }

  async function close(): Promise<void> {
    if (closed) return;
    try {
      await flush();
    } finally {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      loaded.clear();
      store.close();
    }
  }

  return {
    upsert,
    searchSemantic,
    searchKeyword,
    searchHybrid,
    chats: () => {
      assertOpen();
      return store.summaries();
    },
    chat: (chatId: string): ChatSummary | undefined => {
      assertOpen();
      return store.summaries(chatId)[0];
    },
    chatStats: (chatId: string): ChatStats | undefined => {
      assertOpen();
      return store.chatStats(chatId, DEFAULTS.topSenders);
    },
    deleteChat,
    flush,
    close,
    stats,
    whenIdle,
  };
}
