/**
 * HNSW indexes on disk: `<dir>/<chat>.usearch` and its sidecar `<chat>.usearch.json` = { seq, gen,
 * size, params }. `seq` is the highest SQLite row seq the saved index holds (rows after it are
 * replayed on load), `gen` the chat row's creation seq (a file left by an earlier chat with the
 * same id is never trusted), and the parameters must match the running ones. A sidecar that fails
 * any check means "rebuild from SQLite". Exact-search chats have no file.
 *
 * Crash safety (DESIGN §4): index and sidecar are each written to a temp file, fsynced, renamed and
 * the directory fsynced, index first, so a crash leaves at worst a newer index with an older seq
 * (replaying rows it already holds is harmless). Saves are debounced (SaveScheduler): an index
 * changes on every upsert, and rewriting a big one each time would cost more than the upsert.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { removeStaleTemps, replaceFileAtomic, unlinkDurable, writeFileAtomic } from "../common/atomic-file.ts";
import type { Quantization, StorageLogger } from "./types.ts";
import { DIMENSIONS, type HnswIndex } from "./vector-index.ts";

/** 2: keys are indexKey(message_id) (version 1 files, keyed by the raw id, are rebuilt). */
const INDEX_FILE_VERSION = 2;

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

/** Which chat generation, up to which row, an index file holds. */
export interface SavedState {
  chatId: string;
  gen: number;
  seq: number;
}

/** File name stem for a chat id: [A-Za-z0-9_-] kept, every other UTF-8 byte as %XX (injective). */
export function chatFileStem(chatId: string): string {
  let out = "";
  for (const ch of chatId) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export class IndexFiles {
  readonly #dir: string;
  readonly #params: { quantization: Quantization; connectivity: number };
  readonly #log: StorageLogger;

  /** `dir` must exist. */
  constructor(dir: string, params: { quantization: Quantization; connectivity: number }, log: StorageLogger) {
    this.#dir = dir;
    this.#params = params;
    this.#log = log;
  }

  #indexPath(chatId: string): string {
    return join(this.#dir, `${chatFileStem(chatId)}.usearch`);
  }

  #sidecarPath(chatId: string): string {
    return `${this.#indexPath(chatId)}.json`;
  }

  /** On open: removes temp files a crash left, and the files of chats that no longer exist. */
  sweep(liveChatIds: Iterable<string>): void {
    const temps = removeStaleTemps(this.#dir);
    if (temps.length) this.#log.warn({ files: temps }, "storage: removed temp files left by a crash");
    const live = new Set<string>();
    for (const id of liveChatIds) {
      const stem = chatFileStem(id);
      live.add(`${stem}.usearch`);
      live.add(`${stem}.usearch.json`);
    }
    const orphans = readdirSync(this.#dir)
      .filter((n) => !live.has(n))
      .map((n) => join(this.#dir, n));
    if (orphans.length) {
      unlinkDurable(orphans);
      this.#log.info({ files: orphans.length }, "storage: removed index files of deleted chats");
    }
  }

  /** The row seq up to which the chat's saved index is current, or undefined when it is not usable. */
  savedSeq(chatId: string, gen: number): number | undefined {
    try {
      const s = JSON.parse(readFileSync(this.#sidecarPath(chatId), "utf8")) as IndexSidecar;
      const ok =
        s.version === INDEX_FILE_VERSION &&
        s.chat_id === chatId &&
        s.gen === gen &&
        s.dimensions === DIMENSIONS &&
        s.metric === "cos" &&
        s.quantization === this.#params.quantization &&
        s.connectivity === this.#params.connectivity &&
        Number.isSafeInteger(s.seq);
      return ok ? s.seq : undefined;
    } catch {
      return undefined;
    }
  }

  /** Loads the chat's saved index into `index` (made with the running parameters). */
  load(chatId: string, index: HnswIndex): void {
    index.load(this.#indexPath(chatId));
  }

  save(state: SavedState, index: HnswIndex): void {
    const side: IndexSidecar = {
      version: INDEX_FILE_VERSION,
      chat_id: state.chatId,
      gen: state.gen,
      seq: state.seq,
      size: index.size(),
      dimensions: DIMENSIONS,
      metric: "cos",
      quantization: this.#params.quantization,
      connectivity: this.#params.connectivity,
    };
    replaceFileAtomic(this.#indexPath(state.chatId), (tmp) => index.save(tmp));
    writeFileAtomic(this.#sidecarPath(state.chatId), JSON.stringify(side));
  }

  /** Deletes the chat's files, durably; absent files are fine. */
  remove(chatId: string): void {
    unlinkDurable([this.#indexPath(chatId), this.#sidecarPath(chatId)]);
  }

  /** Bytes of every index file (sidecars not counted). */
  totalBytes(): number {
    let bytes = 0;
    for (const name of readdirSync(this.#dir)) {
      if (!name.endsWith(".usearch")) continue;
      try {
        bytes += statSync(join(this.#dir, name)).size;
      } catch {
        // deleted meanwhile
      }
    }
    return bytes;
  }
}

/**
 * When to save: `debounceMs` after the last change (trailing), but never later than `maxDelayMs`
 * after an index's first unsaved change, even under steady writes. The timer never keeps the
 * process alive; flush() and close() save whatever is still due.
 */
export class SaveScheduler {
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  /** When each dirty index first changed since its last save. */
  readonly #dirtySince: () => Iterable<number>;
  readonly #save: () => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: { debounceMs: number; maxDelayMs: number; dirtySince: () => Iterable<number>; save: () => void }) {
    this.#debounceMs = opts.debounceMs;
    this.#maxDelayMs = Math.max(opts.maxDelayMs, opts.debounceMs);
    this.#dirtySince = opts.dirtySince;
    this.#save = opts.save;
  }

  /** (Re)arms the timer for what is dirty now; disarms it when nothing is. */
  schedule(): void {
    if (this.#stopped) return;
    const now = Date.now();
    let due = now + this.#debounceMs;
    let any = false;
    for (const since of this.#dirtySince()) {
      any = true;
      due = Math.min(due, since + this.#maxDelayMs);
    }
    this.cancel();
    if (!any) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (!this.#stopped) this.#save();
      },
      Math.max(0, due - now),
    );
    this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** No timer from now on. */
  stop(): void {
    this.#stopped = true;
    this.cancel();
  }
}
