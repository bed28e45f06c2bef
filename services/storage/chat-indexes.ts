/**
 * The per-chat vector indexes, derived from SQLite (the source of truth: every row carries its
 * vector and a global, strictly increasing seq). A chat's index is loaded on its first search or
 * upsert after open:
 *  - up to `threshold` vectors: an exact index read back from SQLite (no file: cheap at that size);
 *  - above it: the saved HNSW file (index-files.ts) plus a replay of every row written after it;
 *    with no usable file, or one that disagrees with SQLite's row count, exact search from the rows
 *    while the HNSW index is rebuilt in the background (hnsw-build.ts).
 * Upserts apply committed changes here after SQLite; a failure to apply drops the chat's index,
 * which is reloaded on next use, so nothing acknowledged is lost.
 */
import { TglensError } from "../common/errors.ts";
import { HnswBuilder, type BuildTarget } from "./hnsw-build.ts";
import { IndexFiles, SaveScheduler } from "./index-files.ts";
import type { ChatRow, MessageStore } from "./message-store.ts";
import type { StorageLogger } from "./types.ts";
import { DIMENSIONS, ExactIndex, HnswIndex, indexKey, type HnswConfig, type VectorIndex } from "./vector-index.ts";
import { blobInto, matrixOf } from "./vectors.ts";

const CHUNK_ROWS = 4_096;

export interface LoadedChat extends BuildTarget {
  gen: number;
  /** Highest row seq reflected in `index`. */
  appliedSeq: number;
}

/** What one committed upsert changed in one chat. */
export interface ChatChanges {
  gen: number;
  /** index key → new unit vector (rows whose vector did not change are absent). */
  vectors: Map<number, Float32Array>;
  maxSeq: number;
}

export interface ChatIndexesOptions {
  threshold: number;
  hnsw: HnswConfig;
  saveDebounceMs: number;
  maxSaveDelayMs: number;
  log: StorageLogger;
}

export class ChatIndexes {
  readonly #store: MessageStore;
  readonly #files: IndexFiles;
  readonly #opts: ChatIndexesOptions;
  readonly #log: StorageLogger;
  readonly #loaded = new Map<string, LoadedChat>();
  readonly #builder: HnswBuilder;
  readonly #saves: SaveScheduler;
  #closed = false;

  constructor(store: MessageStore, files: IndexFiles, opts: ChatIndexesOptions) {
    this.#store = store;
    this.#files = files;
    this.#opts = opts;
    this.#log = opts.log;
    this.#builder = new HnswBuilder({
      threshold: opts.threshold,
      newIndex: () => new HnswIndex(opts.hnsw),
      isCurrent: (t) => !this.#closed && this.#loaded.get(t.chatId) === t,
      switched: () => this.#saves.schedule(),
      log: opts.log,
    });
    this.#saves = new SaveScheduler({
      debounceMs: opts.saveDebounceMs,
      maxDelayMs: opts.maxSaveDelayMs,
      dirtySince: () => this.#dirtySince(),
      save: () => this.#saveDirty(),
    });
  }

  *#dirtySince(): Generator<number> {
    for (const lc of this.#loaded.values()) if (lc.dirtySince !== null) yield lc.dirtySince;
  }

  /** The chat's index, loaded now if it is not (or is of an earlier generation of the chat). */
  get(chat: ChatRow): LoadedChat {
    const lc = this.#loaded.get(chat.chat_id);
    if (lc && lc.gen === chat.gen) return lc;
    return this.#load(chat);
  }

  /** Applies what a committed upsert changed, chat by chat. */
  applyCommitted(changes: ReadonlyMap<string, ChatChanges>): void {
    let dirty = false;
    for (const [chatId, c] of changes) {
      try {
        let lc = this.#loaded.get(chatId);
        if (!lc || lc.gen !== c.gen) {
          // A chat created by this batch: start an empty exact index (nothing was there before).
          lc = { chatId, gen: c.gen, index: new ExactIndex(), appliedSeq: 0, dirtySince: null };
          this.#loaded.set(chatId, lc);
        }
        this.#apply(lc, c);
        if (lc.dirtySince !== null) dirty = true;
      } catch (err) {
        this.#loaded.delete(chatId);
        this.#log.error({ chat: chatId, err: (err as Error).message }, "storage: index update failed; will reload from SQLite");
      }
    }
    if (dirty) this.#saves.schedule();
  }

  /** Forgets the chat's index, in memory and on disk. */
  remove(chatId: string): void {
    this.#loaded.delete(chatId);
    this.#files.remove(chatId);
  }

  /** Saves every dirty index now; throws TGLENS_INTERNAL if one could not be saved (it is retried later). */
  flush(): void {
    this.#saves.cancel();
    const err = this.#saveDirty();
    if (err !== undefined) throw new TglensError("TGLENS_INTERNAL", `saving an index failed: ${(err as Error).message}`, { cause: err });
  }

  /** Completes every background build now (blocking: about a millisecond per vector still to add). */
  finishBuilds(): void {
    for (const lc of this.#loaded.values()) this.#builder.finish(lc);
  }

  /** Drops every index from memory; builds under way stop, nothing more is saved. */
  close(): void {
    this.#closed = true;
    this.#saves.stop();
    this.#loaded.clear();
  }

  #apply(lc: LoadedChat, c: ChatChanges): void {
    if (c.vectors.size > 0) {
      const keys = [...c.vectors.keys()];
      lc.index.add(keys, matrixOf(keys, c.vectors));
      this.#builder.track(lc, keys, c.vectors);
    }
    lc.appliedSeq = Math.max(lc.appliedSeq, c.maxSeq);
    this.#builder.maybeStart(lc);
    if (lc.index instanceof HnswIndex && lc.dirtySince === null) lc.dirtySince = Date.now();
  }

  /** Adds every row of the chat with seq > afterSeq to `index`, in chunks. Returns rows added. */
  #addRows(index: VectorIndex, chatId: string, afterSeq: number): number {
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
    for (const page of this.#store.vectorPages(chatId, afterSeq, CHUNK_ROWS)) {
      for (const [id, , blob] of page) {
        blobInto(blob, buf, keys.length);
        keys.push(indexKey(id));
        if (keys.length === CHUNK_ROWS) flush();
      }
    }
    flush();
    return total;
  }

  /** The chat's saved HNSW index with the rows written after it replayed, or undefined when unusable. */
  #loadSaved(chat: ChatRow, count: number): { index: HnswIndex; replayed: number } | undefined {
    const seq = this.#files.savedSeq(chat.chat_id, chat.gen);
    if (seq === undefined) return undefined;
    try {
      const index = new HnswIndex(this.#opts.hnsw);
      this.#files.load(chat.chat_id, index);
      const replayed = this.#addRows(index, chat.chat_id, seq);
      if (index.size() === count) return { index, replayed };
      this.#log.warn({ chat: chat.chat_id, index: index.size(), rows: count }, "storage: index disagrees with SQLite, rebuilding");
    } catch (err) {
      this.#log.warn({ chat: chat.chat_id, err: (err as Error).message }, "storage: cannot load index, rebuilding");
    }
    return undefined;
  }

  #load(chat: ChatRow): LoadedChat {
    const t0 = performance.now();
    const chatId = chat.chat_id;
    const count = this.#store.countMessages(chatId);
    const appliedSeq = this.#store.maxSeq(chatId);
    let lc: LoadedChat;
    if (count <= this.#opts.threshold) {
      const index = new ExactIndex(Math.max(64, count));
      this.#addRows(index, chatId, 0);
      // A file from when the chat was bigger or the threshold lower is no longer wanted.
      this.#files.remove(chatId);
      lc = { chatId, gen: chat.gen, index, appliedSeq, dirtySince: null };
    } else {
      const saved = this.#loadSaved(chat, count);
      if (saved) {
        lc = { chatId, gen: chat.gen, index: saved.index, appliedSeq, dirtySince: saved.replayed === 0 ? null : Date.now() };
      } else {
        // No usable file: exact search from the rows, the HNSW index built in the background.
        const exact = new ExactIndex(count);
        this.#addRows(exact, chatId, 0);
        lc = { chatId, gen: chat.gen, index: exact, appliedSeq, dirtySince: null };
      }
      this.#log.info(
        {
          chat: chatId,
          vectors: count,
          how: saved ? "loaded" : "rebuilding",
          replayed: saved?.replayed ?? 0,
          ms: Math.round(performance.now() - t0),
        },
        "storage: chat index opened",
      );
    }
    this.#loaded.set(chatId, lc);
    if (lc.dirtySince !== null) this.#saves.schedule();
    this.#builder.maybeStart(lc);
    return lc;
  }

  #save(lc: LoadedChat): void {
    if (!(lc.index instanceof HnswIndex) || lc.dirtySince === null) return;
    const t0 = performance.now();
    this.#files.save({ chatId: lc.chatId, gen: lc.gen, seq: lc.appliedSeq }, lc.index);
    lc.dirtySince = null;
    const ms = Math.round(performance.now() - t0);
    this.#log.debug({ chat: lc.chatId, vectors: lc.index.size(), seq: lc.appliedSeq, ms }, "storage: index saved");
  }

  /** Saves every dirty index; a failure is logged and retried later. Returns the first error. */
  #saveDirty(): unknown {
    let first: unknown;
    for (const lc of this.#loaded.values()) {
      try {
        this.#save(lc);
      } catch (err) {
        first ??= err;
        this.#log.error({ chat: lc.chatId, err: (err as Error).message }, "storage: saving index failed; will retry");
      }
    }
    if (first !== undefined) this.#saves.schedule();
    return first;
  }
}
