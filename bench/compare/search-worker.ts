/**
 * One vector-search measurement of `npm run bench:compare`, in a process of its own so that its peak RSS is the index's
 * (plus Node's baseline), not the bench's:
 *
 *   search-worker.ts --vectors FILE.f32 --n N --queries Q --index exact|hnsw --threads T
 *                    [--m 32 --ef-construction 128 --ef-search 128 --quantization f16 --rerank 2]
 *                    [--truth FILE.json] [--out-truth FILE.json]
 *
 * Rows [0, N) of FILE are the database (key = row number), rows [N, N + Q) the queries, as for the Python reference;
 * the database is streamed into the index, so the process holds no second copy of it. Measures build time, latency
 * searched as the storage searches (with `--rerank F`: the top 10 × F re-scored with the float32 rows) and recall@10
 * against --truth; --out-truth writes the exact index's top-10 ids. Prints one JSON object on stdout.
 * Method in detail: docs/performance.md ("bench:compare").
 */
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Quantization } from "../../services/storage/types.ts";
import { ExactIndex, HnswIndex, type VectorIndex } from "../../services/storage/vector-index.ts";
import { peakRssBytes, percentile, time } from "../lib/stats.ts";
import { DIM, dotRows, readRows, rowChunks, rowsInFile } from "../lib/vectors.ts";

const { values: args } = parseArgs({
  options: {
    vectors: { type: "string" },
    n: { type: "string" },
    queries: { type: "string", default: "200" },
    index: { type: "string", default: "hnsw" },
    threads: { type: "string", default: "1" },
    k: { type: "string", default: "10" },
    m: { type: "string", default: "32" },
    "ef-construction": { type: "string", default: "128" },
    "ef-search": { type: "string", default: "128" },
    quantization: { type: "string", default: "f16" },
    rerank: { type: "string", default: "1" },
    truth: { type: "string" },
    "out-truth": { type: "string" },
  },
});
if (!args.vectors || !args.n) throw new Error("--vectors FILE and --n N are required");
if (args.index !== "exact" && args.index !== "hnsw") throw new Error(`--index must be exact or hnsw, not ${args.index}`);
const N = Number(args.n);
const Q = Number(args.queries);
const K = Number(args.k);
const threads = Number(args.threads);

const fd = openSync(args.vectors, "r");
if (rowsInFile(fd) < N + Q) throw new Error(`${args.vectors} has ${rowsInFile(fd)} rows, fewer than --n + --queries = ${N + Q}`);
const queries = readRows(fd, N, Q);
const query = (i: number) => queries.subarray(i * DIM, (i + 1) * DIM);

const hnswConfig = {
  connectivity: Number(args.m),
  expansionAdd: Number(args["ef-construction"]),
  expansionSearch: Number(args["ef-search"]),
  quantization: args.quantization as Quantization,
  threads,
};
const index: VectorIndex = args.index === "exact" ? new ExactIndex(N, 1) : new HnswIndex(hnswConfig);
let buildMs = 0;
for (const chunk of rowChunks(fd, 0, N)) {
  const keys = Array.from({ length: chunk.vectors.length / DIM }, (_, i) => chunk.start + i);
  buildMs += time(() => index.add(keys, chunk.vectors))[1];
}

/** The stored float32 vector of a row, read from the file as the storage reads it from SQLite. */
const rowVector = (row: number) => readRows(fd, row, 1);

/**
 * Top-K of one query: the index's top K × rerank, then (rerank > 1) re-scored by the exact dot
 * product with the float32 rows and cut to K.
 */
function searchOnce(q: number, rerank: number): number[] {
  const keys = index.search(query(q), K * rerank).keys;
  if (rerank === 1) return keys;
  return keys
    .map((key) => ({ key, score: dotRows(queries, q, rowVector(key), 0) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, K)
    .map((x) => x.key);
}

const truth = args.truth ? (JSON.parse(readFileSync(args.truth, "utf8")) as number[][]) : undefined;
if (truth && truth.length !== Q) throw new Error(`${args.truth} has ${truth.length} queries, not ${Q}`);

interface Pass {
  p50_ms: number;
  p99_ms: number;
  recall_at_10?: number;
  recall_at_10_tie_aware?: number;
}
/** Every query once, alone and timed (after 20 untimed), then recall against the truth. */
function pass(rerank: number): { figures: Pass; results: number[][] } {
  for (let i = 0; i < 20; i++) searchOnce(i % Q, rerank);
  const latencies: number[] = [];
  const results: number[][] = [];
  for (let q = 0; q < Q; q++) {
    const [keys, ms] = time(() => searchOnce(q, rerank));
    latencies.push(ms);
    results.push(keys);
  }
  const figures: Pass = { p50_ms: Number(percentile(latencies, 50).toFixed(3)), p99_ms: Number(percentile(latencies, 99).toFixed(3)) };
  if (truth) {
    const sim = (q: number, row: number) => dotRows(queries, q, rowVector(row), 0);
    let hit = 0;
    let good = 0;
    results.forEach((keys, q) => {
      const want = new Set(truth[q]!.slice(0, K));
      const kth = sim(q, truth[q]![K - 1]!);
      for (const key of keys) {
        if (want.has(key)) hit++;
        if (sim(q, key) >= kth - 1e-5) good++;
      }
    });
    figures.recall_at_10 = Number((hit / (K * Q)).toFixed(4));
    figures.recall_at_10_tie_aware = Number((good / (K * Q)).toFixed(4));
  }
  return { figures, results };
}

const indexOnly = pass(1);
if (args["out-truth"]) writeFileSync(args["out-truth"], JSON.stringify(indexOnly.results));
const rerank = Number(args.rerank);
const production = rerank > 1 ? pass(rerank).figures : indexOnly.figures;
closeSync(fd);

const rssNow = process.memoryUsage().rss;
process.stdout.write(
  JSON.stringify({
    index: args.index,
    ...(args.index === "hnsw"
      ? {
          m: hnswConfig.connectivity,
          ef_construction: hnswConfig.expansionAdd,
          ef_search: hnswConfig.expansionSearch,
          quantization: hnswConfig.quantization,
        }
      : {}),
    build_threads: args.index === "hnsw" ? threads : 1,
    search_threads: 1,
    n: N,
    queries: Q,
    k: K,
    build_s: Number((buildMs / 1000).toFixed(3)),
    rerank_factor: rerank,
    ...production,
    index_only: indexOnly.figures,
    index_bytes_estimate: index.memoryBytes(),
    rss_mb: Math.round(rssNow / 2 ** 20),
    peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
  }) + "\n",
);
