/**
 * The switch of a chat from exact search to HNSW once it grows past the threshold. Building a big
 * HNSW index takes far longer than an upsert may block, so it is built in the background, in
 * slices of at most SLICE_MS per event-loop turn, while the exact index keeps answering (and stays
 * exact). Changes that arrive during the build go to both. When the build holds every key, the
 * HNSW index replaces the exact one and is saved. A build cut short by close() restarts on the
 * next open (the chat is then loaded from SQLite as exact, past the threshold).
 */
import type { StorageLogger } from "./types.ts";
import { DIMENSIONS, ExactIndex, type HnswIndex, type VectorIndex } from "./vector-index.ts";
import { matrixOf } from "./vectors.ts";

/** Work at most this long per event-loop turn, this many vectors per add. */
const SLICE_MS = 25;
const SLICE_BATCH = 32;

interface Build {
  hnsw: HnswIndex;
  /** Keys to copy from the exact index, in order; `next` is the first not copied yet. */
  keys: number[];
  next: number;
  started: number;
  busyMs: number;
}

/** One chat's index slot, as the build sees it. */
export interface BuildTarget {
  readonly chatId: string;
  index: VectorIndex;
  /** When the first unsaved change happened (HNSW only), or null when the file is current. */
  dirtySince: number | null;
  building?: Build;
}

export interface HnswBuilderDeps {
  threshold: number;
  newIndex: () => HnswIndex;
  /** False once the target was closed or deleted: its build is dropped. */
  isCurrent: (t: BuildTarget) => boolean;
  /** Called when `t.index` became the HNSW index (it is dirty: it has never been saved). */
  switched: (t: BuildTarget) => void;
  log: StorageLogger;
}

/** Copies `keys` (those still present) from the exact index into the HNSW one. */
function copyFromExact(hnsw: HnswIndex, exact: ExactIndex, keys: readonly number[]): void {
  const present = keys.filter((k) => exact.has(k));
  const vecs = new Float32Array(present.length * DIMENSIONS);
  present.forEach((k, i) => vecs.set(exact.vectorOf(k)!, i * DIMENSIONS));
  hnsw.add(present, vecs);
}

export class HnswBuilder {
  readonly #deps: HnswBuilderDeps;

  constructor(deps: HnswBuilderDeps) {
    this.#deps = deps;
  }

  /** Starts a background build when `t` is exact, past the threshold and not being built already. */
  maybeStart(t: BuildTarget): void {
    if (!(t.index instanceof ExactIndex) || t.index.size() <= this.#deps.threshold || t.building) return;
    const exact = t.index;
    const build: Build = { hnsw: this.#deps.newIndex(), keys: exact.keys(), next: 0, started: performance.now(), busyMs: 0 };
    t.building = build;
    const step = () => {
      if (!this.#deps.isCurrent(t) || t.building !== build) return;
      const t0 = performance.now();
      while (build.next < build.keys.length && performance.now() - t0 < SLICE_MS) {
        const slice = build.keys.slice(build.next, build.next + SLICE_BATCH);
        build.next += slice.length;
        copyFromExact(build.hnsw, exact, slice);
      }
      build.busyMs += performance.now() - t0;
      if (build.next < build.keys.length) {
        setImmediate(step).unref();
        return;
      }
      this.finish(t);
    };
    setImmediate(step).unref();
  }

  /**
   * `keys` (with their vectors in `changes`) were just added to `t.index`: keys the build already
   * copied are replaced in it now, new keys join its queue, and keys still queued will be read from
   * the exact index (already updated) when their turn comes.
   */
  track(t: BuildTarget, keys: readonly number[], changes: ReadonlyMap<number, Float32Array>): void {
    const build = t.building;
    if (!build) return;
    const queued = new Set(build.keys);
    const done = keys.filter((k) => build.hnsw.has(k));
    if (done.length) build.hnsw.add(done, matrixOf(done, changes));
    for (const k of keys) if (!queued.has(k)) build.keys.push(k);
  }

  /** Completes a build now, blocking (whenIdle() calls this; normally the slices do). */
  finish(t: BuildTarget): void {
    const build = t.building;
    if (!build || !(t.index instanceof ExactIndex)) return;
    if (build.next < build.keys.length) {
      const t0 = performance.now();
      copyFromExact(build.hnsw, t.index, build.keys.slice(build.next));
      build.next = build.keys.length;
      build.busyMs += performance.now() - t0;
    }
    t.building = undefined;
    t.index = build.hnsw;
    t.dirtySince = Date.now();
    this.#deps.log.info(
      {
        chat: t.chatId,
        vectors: build.hnsw.size(),
        busy_ms: Math.round(build.busyMs),
        wall_ms: Math.round(performance.now() - build.started),
      },
      "storage: chat switched to HNSW",
    );
    this.#deps.switched(t);
  }
}
