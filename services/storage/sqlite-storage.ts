/**
 * openStorage(): the embedded storage backend, SQLite (message-store.ts, the source of truth:
 * rows, vectors, FTS5) plus one usearch index per chat derived from it (chat-indexes.ts), in a
 * data directory of its own. This file only composes the parts and owns the lifecycle; each part's
 * header says why it works as it does. Everything below runs synchronously inside each call, so
 * one call never sees another half done; the Storage interface is async for other backends' sake.
 *
 * Crash safety (DESIGN §4): upsert() commits to SQLite before it touches an index and before it
 * resolves; indexes are saved later (debounced) and a reopen replays what they missed, so a kill -9
 * at any moment loses no acknowledged message and duplicates nothing. deleteChat() deletes the rows
 * first, then the files; files of chats that no longer exist are removed on open.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { TglensError } from "../common/errors.ts";
import { ChatIndexes } from "./chat-indexes.ts";
import { DEFAULTS } from "./defaults.ts";
import { IndexFiles } from "./index-files.ts";
import { messagesAround, messagesFrom } from "./message-pages.ts";
import { MessageStore } from "./message-store.ts";
import { searchHybrid } from "./search/hybrid.ts";
import { searchKeyword } from "./search/keyword.ts";
import { searchSemantic, type SemanticContext } from "./search/semantic.ts";
import type { HnswParams, Storage, StorageLogger, StorageOptions } from "./types.ts";
import { upsert } from "./upsert.ts";

/** What openStorage returns: the Storage interface plus a maintenance call for tools and tests. */
export interface StorageHandle extends Storage {
  /**
   * Completes background HNSW builds now (blocking), then flush(). For tools, tests and benchmarks
   * that want the final index; the service need not call it. A build left unfinished by close()
   * restarts on the next open.
   */
  whenIdle(): Promise<void>;
}

const noopLog: StorageLogger = { debug() {}, info() {}, warn() {}, error() {} };

export async function openStorage(opts: StorageOptions): Promise<StorageHandle> {
  const log = opts.log ?? noopLog;
  const threshold = opts.hnswThreshold ?? DEFAULTS.hnswThreshold;
  const quantization = opts.quantization ?? DEFAULTS.quantization;
  const hnswParams: HnswParams = { ...DEFAULTS.hnsw, ...opts.hnsw };
  if (!Number.isInteger(threshold) || threshold < 1) throw new TglensError("TGLENS_CONFIG", "hnswThreshold must be an integer ≥ 1");
  if (!["f32", "f16", "i8"].includes(quantization)) throw new TglensError("TGLENS_CONFIG", `unknown quantization ${quantization}`);

  const indexDir = join(opts.dir, "index");
  mkdirSync(indexDir, { recursive: true });
  const store = new MessageStore(join(opts.dir, "messages.db"));
  const files = new IndexFiles(indexDir, { quantization, connectivity: hnswParams.connectivity }, log);
  try {
    files.sweep(store.allChats().map((c) => c.chat_id));
  } catch (err) {
    store.close();
    throw err;
  }
  const indexes = new ChatIndexes(store, files, {
    threshold,
    // Adds on one thread: usearch's concurrent insertion can strand vectors (vector-index.ts).
    hnsw: { ...hnswParams, quantization },
    saveDebounceMs: opts.saveDebounceMs ?? DEFAULTS.saveDebounceMs,
    maxSaveDelayMs: opts.maxSaveDelayMs ?? DEFAULTS.maxSaveDelayMs,
    log,
  });
  const semantic: SemanticContext = { store, indexes, quantization, exactFilterMax: opts.exactFilterMax ?? DEFAULTS.exactFilterMax };
  let closed = false;

  /** `fn` run now, unless the storage is closed; its result or throw as a promise. */
  const open = async <T>(fn: () => T): Promise<Awaited<T>> => {
    if (closed) throw new TglensError("TGLENS_NOT_READY", "storage is closed");
    return await fn();
  };
  const flush = () => open(() => indexes.flush());

  const storage: StorageHandle = {
    upsert: (batch) => open(() => upsert(store, indexes, batch)),
    searchSemantic: (q, k, f) => open(() => searchSemantic(semantic, q, k, f)),
    searchKeyword: (query, k, f) => open(() => searchKeyword(store, query, k, f)),
    searchHybrid: (query, q, k, f) => open(() => searchHybrid(storage, query, q, k, f)),
    chats: () => open(() => store.summaries()),
    chat: (chatId) => open(() => store.summaries(chatId)[0]),
    chatStats: (chatId) => open(() => store.chatStats(chatId, DEFAULTS.topSenders)),
    messagesAround: (chatId, messageId, span) => open(() => messagesAround(store, chatId, messageId, span)),
    messagesFrom: (chatId, from, limit) => open(() => messagesFrom(store, chatId, from, limit)),
    deleteChat: (chatId) =>
      open(() => {
        const existed = store.deleteChat(chatId);
        indexes.remove(chatId);
        if (existed) log.info({ chat: chatId }, "storage: chat deleted");
        return existed;
      }),
    stats: () => open(() => ({ ...store.countAll(), indexBytes: files.totalBytes() })),
    flush,
    whenIdle: () => open(() => indexes.finishBuilds()).then(flush),
    async close() {
      if (closed) return;
      try {
        await flush();
      } finally {
        closed = true;
        indexes.close();
        store.close();
      }
    },
  };
  return storage;
}
