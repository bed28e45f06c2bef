/**
 * Vector indexes for one chat. ExactIndex is a growable float32 matrix scanned with usearch's SIMD `exactSearch`, for
 * small chats; it is never saved (rebuilt from SQLite, cheap at that size). HnswIndex is a usearch HNSW index, saved to
 * disk and loaded back. Keys are indexKey(message_id): message ids can be negative (supergroups migrated from a group)
 * and usearch keys are unsigned, so ids are zigzag-encoded (0, -1, 1, -2, … → 0, 1, 2, 3, …), injective and below 2^53
 * for |id| ≤ MAX_ABS_MESSAGE_ID. Both return cosine distances (1 - cos); `add` replaces a key already present, so
 * replaying rows is idempotent.
 *
 * Several usearch behaviours are worked around here (offset-0 buffers, k above the size, duplicate keys, per-call
 * threads, vectors stranded by concurrent adds, reserved add slots): each is commented where it is handled, and
 * docs/architecture.md ("usearch pitfalls") explains them.
 */
import { availableParallelism } from "node:os";
import usearch from "usearch";
import type { HnswParams, Quantization } from "./types.ts";

const { Index, exactSearch } = usearch;
type UsearchIndex = InstanceType<typeof Index>;
type MetricArg = ConstructorParameters<typeof Index>[1];
type ScalarArg = ConstructorParameters<typeof Index>[2];

export const DIMENSIONS = 384;
const COS = "cos" as MetricArg & string;

export interface IndexMatches {
  keys: number[];
  /** Cosine distance, 1 - cos, ascending. */
  distances: number[];
}

/** What one chat's vector index offers; chat-indexes.ts picks the implementation by size. */
export interface VectorIndex {
  readonly kind: "exact" | "hnsw";
  size(): number;
  has(key: number): boolean;
  /** Adds `keys.length` vectors (row-major in `vectors`), replacing keys already present. */
  add(keys: readonly number[], vectors: Float32Array): void;
  /** Up to k nearest keys; fewer when the index holds fewer. `query` must have DIMENSIONS entries. */
  search(query: Float32Array, k: number): IndexMatches;
  /** Approximate bytes held in memory for vectors and graph. */
  memoryBytes(): number;
}

/** The index key of a message id (zigzag: non-negative ids to even keys, negative ones to odd). */
export function indexKey(messageId: number): number {
  return messageId >= 0 ? messageId * 2 : -messageId * 2 - 1;
}

/** The message id of an index key (inverse of indexKey). */
export function messageIdOfKey(key: number): number {
  return key % 2 === 0 ? key / 2 : -(key + 1) / 2;
}

function toKey(id: number): bigint {
  return BigInt(id);
}

/** Copies a query into a fresh, offset-0 Float32Array: usearch reads a query from the start of its buffer. */
export function freshQuery(query: Float32Array): Float32Array {
  const q = new Float32Array(DIMENSIONS);
  q.set(query.subarray(0, DIMENSIONS));
  return q;
}

export class ExactIndex implements VectorIndex {
  readonly kind = "exact" as const;
  #matrix: Float32Array;
  #keys: Float64Array;
  #rows = new Map<number, number>();
  #n = 0;
  readonly #threads: number;

  constructor(initialCapacity = 64, threads = 1) {
    const cap = Math.max(1, initialCapacity);
    this.#matrix = new Float32Array(cap * DIMENSIONS);
    this.#keys = new Float64Array(cap);
    this.#threads = threads;
  }

  size(): number {
    return this.#n;
  }

  has(key: number): boolean {
    return this.#rows.has(key);
  }

  #reserve(rows: number): void {
    const cap = this.#keys.length;
    if (rows <= cap) return;
    let next = cap;
    while (next < rows) next *= 2;
    const m = new Float32Array(next * DIMENSIONS);
    m.set(this.#matrix.subarray(0, this.#n * DIMENSIONS));
    const k = new Float64Array(next);
    k.set(this.#keys.subarray(0, this.#n));
    this.#matrix = m;
    this.#keys = k;
  }

  add(keys: readonly number[], vectors: Float32Array): void {
    if (vectors.length !== keys.length * DIMENSIONS) throw new Error("vectors/keys length mismatch");
    this.#reserve(this.#n + keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      let row = this.#rows.get(key);
      if (row === undefined) {
        row = this.#n++;
        this.#rows.set(key, row);
        this.#keys[row] = key;
      }
      this.#matrix.set(vectors.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS), row * DIMENSIONS);
    }
  }

  search(query: Float32Array, k: number): IndexMatches {
    const n = this.#n;
    const want = Math.min(Math.floor(k), n); // exactSearch throws when k exceeds the dataset
    if (want <= 0) return { keys: [], distances: [] };
    // A view from offset 0 of the matrix's own buffer: exactSearch reads from the buffer start.
    const dataset = new Float32Array(this.#matrix.buffer, 0, n * DIMENSIONS);
    const m = exactSearch(dataset, freshQuery(query), DIMENSIONS, want, COS, this.#threads);
    const keys: number[] = new Array(want);
    const distances: number[] = new Array(want);
    for (let i = 0; i < want; i++) {
      keys[i] = this.#keys[Number(m.keys[i])]!;
      distances[i] = m.distances[i]!;
    }
    return { keys, distances };
  }

  /** The stored vector of `key` (a view into the matrix: copy it before the next add). */
  vectorOf(key: number): Float32Array | undefined {
    const row = this.#rows.get(key);
    return row === undefined ? undefined : this.#matrix.subarray(row * DIMENSIONS, (row + 1) * DIMENSIONS);
  }

  /** The live keys, in row order. */
  keys(): number[] {
    return Array.from(this.#keys.subarray(0, this.#n));
  }

  memoryBytes(): number {
    return this.#matrix.byteLength + this.#keys.byteLength + this.#n * 40;
  }
}

export interface HnswConfig extends HnswParams {
  quantization: Quantization;
  /**
   * Threads for batch adds; 1 when unset, as the storage leaves it. More build faster but may strand
   * vectors where no search finds them (unum-cloud/USearch#735): set it only to measure build speed.
   */
  threads?: number;
}

export class HnswIndex implements VectorIndex {
  readonly kind = "hnsw" as const;
  readonly config: HnswConfig;
  #index: UsearchIndex;
  /**
   * Adding threads the index's last reservation made room for: usearch reserves slots only when the index grows, and an
   * add with more threads than that fails ("Reserve capacity ahead of insertions!").
   */
  #addSlots = 0;

  constructor(config: HnswConfig) {
    this.config = config;
    this.#index = HnswIndex.#make(config);
  }

  static #make(c: HnswConfig): UsearchIndex {
    return new Index({
      dimensions: DIMENSIONS,
      metric: COS,
      quantization: c.quantization as ScalarArg & string,
      connectivity: c.connectivity,
      expansion_add: c.expansionAdd,
      expansion_search: c.expansionSearch,
      multi: false,
    } as ConstructorParameters<typeof Index>[0] & object);
  }

  size(): number {
    return this.#index.size();
  }

  has(key: number): boolean {
    return this.#index.contains(toKey(key)) as boolean;
  }

  add(keys: readonly number[], vectors: Float32Array): void {
    if (keys.length === 0) return;
    if (vectors.length !== keys.length * DIMENSIONS) throw new Error("vectors/keys length mismatch");
    const big = BigUint64Array.from(keys, (k) => toKey(k));
    // A `multi: false` index rejects a key it already holds: remove those first.
    if (this.#index.size() > 0) {
      const present = this.#index.contains(big) as boolean[];
      const stale: bigint[] = [];
      for (let i = 0; i < present.length; i++) if (present[i]) stale.push(big[i]!);
      if (stale.length > 0) this.#index.remove(BigUint64Array.from(stale));
    }
    const threads = Math.max(1, this.config.threads ?? 1);
    if (this.#index.size() + keys.length >= this.#index.capacity()) {
      // This add grows the index and reserves slots for its own thread count: take them all, so
      // later big adds can use every thread (a growth is rare: the capacity doubles each time).
      this.#index.add(big, vectors, threads);
      this.#addSlots = threads;
    } else {
      // Small batches on one thread: spawning threads costs more than it saves.
      this.#index.add(big, vectors, Math.max(1, Math.min(keys.length >= 256 ? threads : 1, this.#addSlots)));
    }
  }

  search(query: Float32Array, k: number): IndexMatches {
    const size = this.#index.size();
    const want = Math.min(Math.floor(k), size);
    if (want <= 0) return { keys: [], distances: [] };
    // One thread: threads = 0 would spawn one per core for each call, slower for a single query.
    const m = this.#index.search(freshQuery(query), want, 1);
    const keys: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < m.keys.length; i++) {
      keys.push(Number(m.keys[i]));
      distances.push(m.distances[i]!);
    }
    return { keys, distances };
  }

  save(path: string): void {
    this.#index.save(path);
  }

  /** Loads a saved index (created with the same config). */
  load(path: string): void {
    this.#index.load(path);
    // usearch reserves for every hardware thread after a load; this process may use fewer.
    this.#addSlots = Math.min(Math.max(1, this.config.threads ?? 1), availableParallelism());
  }

  memoryBytes(): number {
    const bytesPerScalar = this.config.quantization === "f32" ? 4 : this.config.quantization === "f16" ? 2 : 1;
    // Vectors + level-0 neighbour lists (2 * M slots of 4 bytes) + key and node headers.
    return this.#index.size() * (DIMENSIONS * bytesPerScalar + 2 * this.config.connectivity * 4 + 24);
  }
}
