import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it, test } from "node:test";
import { DIMENSIONS, ExactIndex, HnswIndex, indexKey, messageIdOfKey, type VectorIndex } from "../../../services/storage/vector-index.ts";
import { testDir } from "../../helpers/temp.ts";

function vectors(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n * DIMENSIONS);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let d = 0; d < DIMENSIONS; d++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const x = s / 4294967296 - 0.5;
      out[r * DIMENSIONS + d] = x;
      norm += x * x;
    }
    for (let d = 0; d < DIMENSIONS; d++) out[r * DIMENSIONS + d]! /= Math.sqrt(norm);
  }
  return out;
}
const row = (m: Float32Array, i: number) => m.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS);

for (const make of [
  () => new ExactIndex(4),
  () => new HnswIndex({ connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: "f32", threads: 2 }),
]) {
  test(`${make().kind}: add replaces, search finds itself (subarray queries too)`, () => {
    const idx: VectorIndex = make();
    const v = vectors(300, 1);
    idx.add(
      Array.from({ length: 300 }, (_, i) => i + 1),
      v,
    );
    assert.equal(idx.size(), 300);
    // A query that is a subarray of a bigger Float32Array (the exactSearch pitfall).
    const r = idx.search(row(v, 123), 3);
    assert.equal(r.keys[0], 124);
    assert.ok(Math.abs(r.distances[0]!) < 1e-5);
    // Replacing keys keeps one entry per key.
    const w = vectors(2, 2);
    idx.add([124, 5], w);
    assert.equal(idx.size(), 300);
    assert.equal(idx.search(row(w, 0), 1).keys[0], 124);
    assert.notEqual(idx.search(row(v, 123), 1).keys[0], 124);
    assert.equal(idx.has(124), true);
    assert.equal(idx.has(9999), false);
    // k larger than the index: every key at most once (HNSW may miss a few; exact returns all).
    const all = idx.search(row(v, 0), 1000);
    assert.equal(new Set(all.keys).size, all.keys.length);
    if (idx.kind === "exact") assert.equal(all.keys.length, 300);
    else assert.ok(all.keys.length >= 290, `${all.keys.length}`);
  });
}

test("hnsw: a big add on two threads after small ones on one, and after a load, never runs out of thread slots", (t) => {
  const dir = testDir(t, "vi");
  const cfg = { connectivity: 16, expansionAdd: 64, expansionSearch: 64, quantization: "f32" as const, threads: 2 };
  const v = vectors(1200, 4);
  let next = 0;
  const add = (idx: HnswIndex, n: number) => {
    idx.add(
      Array.from({ length: n }, (_, i) => next + i),
      v.subarray(next * DIMENSIONS, (next + n) * DIMENSIONS),
    );
    next += n;
  };
  // 255 + 255 + 3 rows on one thread leave room for 511 more: the 300 that follow fit without growing.
  const a = new HnswIndex(cfg);
  for (const n of [255, 255, 3, 300]) add(a, n);
  assert.equal(a.size(), 813);
  a.save(join(dir, "x.usearch"));
  const b = new HnswIndex(cfg);
  b.load(join(dir, "x.usearch"));
  add(b, 300);
  assert.equal(b.size(), 1113);
  assert.equal(b.search(row(v, 1000), 1).keys[0], 1000);
});

test("hnsw: save and load round-trip", (t) => {
  const dir = testDir(t, "vi");
  const cfg = { connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: "f16" as const, threads: 2 };
  const a = new HnswIndex(cfg);
  const v = vectors(500, 3);
  a.add(
    Array.from({ length: 500 }, (_, i) => i * 1000),
    v,
  );
  a.save(join(dir, "x.usearch"));
  const b = new HnswIndex(cfg);
  b.load(join(dir, "x.usearch"));
  assert.equal(b.size(), 500);
  assert.deepEqual(b.search(row(v, 42), 5), a.search(row(v, 42), 5));
  assert.equal(b.search(row(v, 42), 1).keys[0], 42_000);
});

describe("index keys of message ids", () => {
  it("are injective, unsigned and invertible, negative ids included", () => {
    const ids = [0, 1, -1, 2, -2, 2 ** 31 - 1, -(2 ** 31), 2 ** 51, -(2 ** 51)];
    const keys = ids.map(indexKey);
    assert.equal(new Set(keys).size, ids.length);
    for (const k of keys) assert.ok(Number.isSafeInteger(k) && k >= 0, `key ${k}`);
    assert.deepEqual(keys.map(messageIdOfKey), ids);
  });
});
