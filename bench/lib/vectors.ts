/**
 * Vector files shared by the benches and the Python reference: raw float32 rows of 384, no header
 * (numpy's `tofile` / `fromfile` layout; little-endian, as on every machine tglens runs on), so both
 * stacks read the very same bytes. Row r starts at byte r × 1536.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { EMBEDDING_DIM } from "../../services/common/schemas.ts";

export const DIM = EMBEDDING_DIM;
export const ROW_BYTES = DIM * 4;

/** Number of rows in a vector file (throws when its size is not a whole number of rows). */
export function rowsInFile(fd: number): number {
  const size = fstatSync(fd).size;
  if (size % ROW_BYTES !== 0) throw new Error(`vector file size ${size} is not a multiple of ${ROW_BYTES} (${DIM} float32)`);
  return size / ROW_BYTES;
}

/** Rows [start, start + count) into a fresh Float32Array that owns its buffer from offset 0. */
export function readRows(fd: number, start: number, count: number): Float32Array {
  const out = new Float32Array(count * DIM);
  const bytes = new Uint8Array(out.buffer);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, start * ROW_BYTES + done);
    if (n === 0) throw new Error(`vector file ends before row ${start + count}`);
    done += n;
  }
  return out;
}

/** Rows [start, end) in chunks of `chunkRows`, so a large file never sits in memory whole. */
export function* rowChunks(fd: number, start: number, end: number, chunkRows = 8192): Generator<{ start: number; vectors: Float32Array }> {
  for (let s = start; s < end; s += chunkRows) {
    const n = Math.min(chunkRows, end - s);
    yield { start: s, vectors: readRows(fd, s, n) };
  }
}

/** Appends vectors to a file opened for writing. */
export function writeRows(fd: number, vectors: readonly Float32Array[]): void {
  for (const v of vectors) writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** The whole file as one matrix (small files only: the quality comparison's few thousand rows). */
export function readVectorFile(path: string): { rows: number; data: Float32Array } {
  const fd = openSync(path, "r");
  try {
    const rows = rowsInFile(fd);
    return { rows, data: readRows(fd, 0, rows) };
  } finally {
    closeSync(fd);
  }
}

/** Dot product of row `i` of `a` and row `j` of `b` (cosine, for unit vectors). */
export function dotRows(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let s = 0;
  const ai = i * DIM;
  const bj = j * DIM;
  for (let d = 0; d < DIM; d++) s += a[ai + d]! * b[bj + d]!;
  return s;
}

/**
 * Exact top-k rows of `base` (rows [0, n)) by dot product with row `q` of `queries`, best first,
 * ties to the lower row. Brute force in JS: for a few thousand rows, where it takes milliseconds.
 */
export function exactTopK(base: Float32Array, n: number, queries: Float32Array, q: number, k: number): number[] {
  const best: { row: number; score: number }[] = [];
  for (let r = 0; r < n; r++) {
    const score = dotRows(base, r, queries, q);
    if (best.length === k && score <= best[k - 1]!.score) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.score < score) at--;
    best.splice(at, 0, { row: r, score });
    if (best.length > k) best.pop();
  }
  return best.map((b) => b.row);
}
