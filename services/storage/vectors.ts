/**
 * Embedding vectors as the storage keeps them: unit length, float32, and in SQLite a BLOB of
 * DIMENSIONS × 4 little-endian bytes (enough to rebuild any index). BLOBs need not be 4-byte
 * aligned, so they are copied byte-wise, never viewed as a Float32Array in place.
 */
import { DIMENSIONS } from "./vector-index.ts";

/** `v` scaled to unit length, or undefined when it has the wrong length, a non-finite entry or is zero. */
export function unitVector(v: ArrayLike<number>): Float32Array | undefined {
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

export function vecToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Copies a stored vector BLOB into `dst` at row `row`. */
export function blobInto(blob: Buffer, dst: Float32Array, row: number): void {
  if (blob.length !== DIMENSIONS * 4) throw new Error(`stored vector has ${blob.length} bytes`);
  new Uint8Array(dst.buffer, dst.byteOffset + row * DIMENSIONS * 4, DIMENSIONS * 4).set(blob);
}

export function blobToVec(blob: Buffer): Float32Array {
  const v = new Float32Array(DIMENSIONS);
  blobInto(blob, v, 0);
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < DIMENSIONS; i++) s += a[i]! * b[i]!;
  return s;
}

/** `vectors` (key → vector) as one row-major matrix in the order of `keys`. */
export function matrixOf(keys: readonly number[], vectors: ReadonlyMap<number, Float32Array>): Float32Array {
  const out = new Float32Array(keys.length * DIMENSIONS);
  keys.forEach((k, i) => out.set(vectors.get(k)!, i * DIMENSIONS));
  return out;
}
