/**
 * Defaults of the SQLite + usearch storage, in one place because several parts read them (index
 * registry, background build, saves, searches). Each was chosen by measurement on real chat text:
 * the figures are in docs/performance.md ("Storage bench").
 */
import type { HnswParams, Quantization } from "./types.ts";

export const DEFAULTS = {
  /** Vectors in a chat above which it leaves exact search for HNSW. */
  hnswThreshold: 10_000,
  saveDebounceMs: 2_000,
  maxSaveDelayMs: 30_000,
  /** f16 loses no recall against f32 at half the memory. */
  quantization: "f16" as Quantization,
  /**
   * Semantic results are re-scored with the stored float32 vectors, so scores are exact cosines;
   * ef_search is set for recall@10 ≥ 0.98 counting ties (chat text repeats: many vectors are equal).
   */
  hnsw: { connectivity: 32, expansionAdd: 128, expansionSearch: 384 } satisfies HnswParams,
  /** A filtered search on an HNSW chat with at most this many matching rows scans them exactly. */
  exactFilterMax: 4_096,
  /** Reciprocal-rank-fusion constant (Cormack, Clarke & Büttcher 2009). */
  rrfK: 60,
  maxK: 1_000,
  /** Messages on each side of a message, or from a date, in one page. */
  maxPage: 1_000,
  /** Replies to a message listed with it. */
  maxReplies: 100,
  /** Senders listed by chatStats(). */
  topSenders: 5,
};
