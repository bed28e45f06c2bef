/**
 * Storage benchmark: exact vs HNSW search latency, HNSW recall@10 by parameters, upsert throughput, save / load times
 * and RSS of the storage library. What each phase measures and the results: docs/performance.md ("Storage bench").
 *
 *   bash scripts/with-node.sh --expose-gc bench/storage-bench.ts [options]
 *
 * Vectors: `--vectors FILE` is raw little-endian float32, N × 384 (unit vectors, e.g. the corpus embedded with
 * all-MiniLM-L6-v2), optionally with `--corpus EXPORT.json` (a Telegram Desktop export whose `type: "message"` entries
 * with non-empty string `text`, in order, are the rows of FILE) for real texts, senders and dates. Without `--vectors`,
 * `--random N` random unit vectors (a lower bound for recall).
 * Phases (`--phase`, comma-separated, default all but `rss`): exact, hnsw, store, rss (run alone, in a fresh process,
 * after `store` with the same --dir). Other options: --n N (use the first N vectors), --queries Q (held-out queries,
 * default 200), --dir DIR (store phase directory, default a temp dir), --quant f32|f16|i8, --threshold T,
 * --configs M/ef_add/quant,... (hnsw phase: only these of its parameter grid, e.g. 16/128/f32).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EmbeddedMessage } from "../services/common/schemas.ts";
import { openStorage, type StorageHandle } from "../services/storage/sqlite-storage.ts";
import type { Quantization } from "../services/storage/types.ts";
import { DIMENSIONS as D, ExactIndex, HnswIndex } from "../services/storage/vector-index.ts";
import { mulberry32 } from "../test/helpers/random.ts";
import { embeddedRecord } from "../test/helpers/records.ts";
import type { ExportMessage } from "./lib/corpus.ts";
import { mb, percentile as pct, time, timeAsync } from "./lib/stats.ts";

const { values: args } = parseArgs({
  options: {
    vectors: { type: "string" },
    corpus: { type: "string" },
    random: { type: "string" },
    n: { type: "string" },
    queries: { type: "string", default: "200" },
    phase: { type: "string", default: "exact,hnsw,store" },
    dir: { type: "string" },
    quant: { type: "string" },
    threshold: { type: "string" },
    configs: { type: "string" },
  },
});
const phases = new Set(args.phase!.split(","));
const Q = Number(args.queries);

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

// ---- data ---------------------------------------------------------------------------------------

function randomUnit(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let d = 0; d < D; d++) {
      const x = random() - 0.5;
      out[r * D + d] = x;
      norm += x * x;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < D; d++) out[r * D + d]! *= inv;
  }
  return out;
}

let all: Float32Array;
let source: string;
if (args.vectors) {
  const buf = readFileSync(args.vectors);
  all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  source = args.vectors;
} else {
  const n = Number(args.random ?? 50_000);
  all = randomUnit(n + Q, 42);
  source = `${n} random unit vectors`;
}
const available = all.length / D;
// The last Q vectors are held-out queries (messages the index has never seen, as real queries are).
const N = Math.min(Number(args.n ?? available - Q), available - Q);
const base = all.subarray(0, N * D);
const queries = Array.from({ length: Q }, (_, i) => all.slice((available - Q + i) * D, (available - Q + i + 1) * D));

let corpus: ExportMessage[] | undefined;
if (args.corpus) {
  const parsed = JSON.parse(readFileSync(args.corpus, "utf8")) as { messages: ExportMessage[] };
  corpus = parsed.messages.filter((m) => m.type === "message" && typeof m.text === "string" && m.text.trim().length > 0);
}
console.log(`# storage bench — ${source}: ${N} vectors indexed, ${Q} held-out queries; node ${process.version}`);

// ---- exact ----------------------------------------------------------------------------------------

/** Exact top-k keys of every query, and the k-th best similarity (for the tie-aware recall). */
function exactTruth(k: number): { keys: number[][]; kth: number[] } {
  const idx = new ExactIndex(N, 2);
  idx.add(
    Array.from({ length: N }, (_, i) => i),
    base,
  );
  const res = queries.map((q) => idx.search(q, k));
  return { keys: res.map((r) => r.keys), kth: res.map((r) => 1 - r.distances[k - 1]!) };
}

function similarity(q: Float32Array, row: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += q[d]! * base[row * D + d]!;
  return s;
}

if (phases.has("exact")) {
  console.log("\n## exact search (usearch exactSearch, f32, cos), latency per query by chat size");
  console.log("size     threads=1 p50 / p99          threads=2 p50 / p99");
  for (const n of [1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 50_000].filter((x) => x <= N)) {
    const cells: string[] = [];
    for (const threads of [1, 2]) {
      const idx = new ExactIndex(n, threads);
      idx.add(
        Array.from({ length: n }, (_, i) => i),
        base.subarray(0, n * D),
      );
      for (let i = 0; i < 20; i++) idx.search(queries[i % Q]!, 10);
      const lat = queries.map((q) => time(() => idx.search(q, 10))[1]);
      cells.push(`${ms(pct(lat, 50))} / ${ms(pct(lat, 99))}`);
    }
    console.log(`${String(n).padEnd(8)} ${cells[0]!.padEnd(28)} ${cells[1]}`);
  }
}

// ---- hnsw -----------------------------------------------------------------------------------------

if (phases.has("hnsw")) {
  console.log(`\n## HNSW over ${N} vectors: recall@10 vs exact, latency per query (1 thread)`);
  const truth = exactTruth(10);
  type Config = { connectivity: number; expansionAdd: number; quantization: Quantization; efs: number[] };
  const grid: Config[] = [
    { connectivity: 16, expansionAdd: 128, quantization: "f32", efs: [16, 32, 64, 128, 256] },
    { connectivity: 16, expansionAdd: 64, quantization: "f32", efs: [32, 64, 128] },
    { connectivity: 8, expansionAdd: 128, quantization: "f32", efs: [32, 64, 128] },
    { connectivity: 32, expansionAdd: 128, quantization: "f32", efs: [32, 64, 128] },
    { connectivity: 16, expansionAdd: 128, quantization: "f16", efs: [32, 64, 128, 256] },
    { connectivity: 32, expansionAdd: 128, quantization: "f16", efs: [32, 64, 128] },
    { connectivity: 16, expansionAdd: 128, quantization: "i8", efs: [64, 128] },
  ];
  const configs = grid.filter((c) => !args.configs || args.configs.split(",").includes(`${c.connectivity}/${c.expansionAdd}/${c.quantization}`));
  for (const c of configs) {
    const before = rss();
    let built: HnswIndex | undefined;
    const [, buildMs] = time(() => {
      built = new HnswIndex({
        connectivity: c.connectivity,
        expansionAdd: c.expansionAdd,
        expansionSearch: 64,
        quantization: c.quantization,
        threads: 2,
      });
      for (let s = 0; s < N; s += 8192) {
        const e = Math.min(N, s + 8192);
        built.add(
          Array.from({ length: e - s }, (_, i) => s + i),
          base.subarray(s * D, e * D),
        );
      }
    });
    const grown = rss() - before;
    const dir = mkdtempSync(join(tmpdir(), "tglens-bench-"));
    const file = join(dir, "x.usearch");
    const [, saveMs] = time(() => built!.save(file));
    const fileBytes = statSync(file).size;
    built = undefined;
    gc();
    for (const ef of c.efs) {
      const idx = new HnswIndex({
        connectivity: c.connectivity,
        expansionAdd: c.expansionAdd,
        expansionSearch: ef,
        quantization: c.quantization,
        threads: 2,
      });
      const [, loadMs] = time(() => idx.load(file));
      for (let i = 0; i < 20; i++) idx.search(queries[i % Q]!, 10);
      let hit = 0;
      let good = 0;
      const lat: number[] = [];
      queries.forEach((q, i) => {
        const [r, t] = time(() => idx.search(q, 10));
        lat.push(t);
        const want = new Set(truth.keys[i]!);
        for (const k of r.keys) {
          if (want.has(k)) hit++;
          // Tie-aware: a result as similar as the exact 10th is as good (chat corpora repeat
          // short messages, "thanks", "lol", so many vectors are exactly equal).
          if (similarity(q, k) >= truth.kth[i]! - 1e-5) good++;
        }
      });
      console.log(
        `M=${c.connectivity} ef_add=${c.expansionAdd} ${c.quantization} ef_search=${String(ef).padEnd(4)} ` +
          `recall@10 ids ${(hit / (10 * Q)).toFixed(4)}, tie-aware ${(good / (10 * Q)).toFixed(4)}  ` +
          `p50 ${ms(pct(lat, 50))} p99 ${ms(pct(lat, 99))}  | build ${(buildMs / 1000).toFixed(1)} s (${Math.round(N / (buildMs / 1000))}/s), ` +
          `RSS +${mb(grown)}, file ${mb(fileBytes)}, save ${Math.round(saveMs)} ms, load ${Math.round(loadMs)} ms`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- store ----------------------------------------------------------------------------------------

function makeMessage(i: number): EmbeddedMessage {
  const c = corpus?.[i];
  return embeddedRecord("900001", c?.id ?? i + 1, Array.from(base.subarray(i * D, (i + 1) * D)), {
    job_id: "bench",
    chat: { id: "900001", name: "Ubuntu IRC (train)", type: "public_supergroup" },
    date: c?.date_unixtime ? Number(c.date_unixtime) : 1_100_000_000 + i * 60,
    sender: { id: c?.from_id ?? `user${i % 5000}`, name: c?.from ?? `nick${i % 5000}` },
    text: c && typeof c.text === "string" ? c.text : `synthetic message ${i} about topic ${i % 97}`,
  });
}

/** Latency of each query (awaited one at a time), as p50 and p99. */
async function latencies(fn: (q: Float32Array, i: number) => Promise<unknown>, qs: Float32Array[] = queries): Promise<number[]> {
  const lat: number[] = [];
  for (const [i, q] of qs.entries()) lat.push((await timeAsync(() => fn(q, i)))[1]);
  return lat;
}

async function searchLatencies(label: string, fn: (q: Float32Array, i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 10; i++) await fn(queries[i % Q]!, i);
  const lat = await latencies(fn);
  console.log(`${label.padEnd(44)} p50 ${ms(pct(lat, 50))}  p99 ${ms(pct(lat, 99))}`);
}

const WORDS = ["install", "kernel", "ubuntu", "sound", "grub", "wireless", "apt-get", "mount", "nvidia", "server", "help", "boot"];

async function runQueries(s: StorageHandle): Promise<void> {
  const senders = [...new Set(Array.from({ length: 50 }, (_, i) => makeMessage(Math.floor((i * N) / 50)).sender.id!))];
  const midDate = makeMessage(Math.floor(N / 2)).date;
  await searchLatencies("semantic k=10, no filter", (q) => s.searchSemantic(q, 10, {}));
  await searchLatencies("semantic k=10, chat filter", (q) => s.searchSemantic(q, 10, { chat: "900001" }));
  await searchLatencies("semantic k=10, sender filter", (q, i) => s.searchSemantic(q, 10, { sender: senders[i % senders.length]! }));
  await searchLatencies("semantic k=10, date filter (one week)", (q) => s.searchSemantic(q, 10, { from: midDate, to: midDate + 7 * 86_400 }));
  await searchLatencies("semantic k=10, date filter (half the chat)", (q) => s.searchSemantic(q, 10, { from: midDate }));
  const twoWords = (i: number) => `${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]}`;
  await searchLatencies("keyword k=10 (two words)", (_q, i) => s.searchKeyword(twoWords(i), 10, {}));
  await searchLatencies("hybrid k=10", (q, i) => s.searchHybrid(WORDS[i % WORDS.length]!, q, 10, {}));
}

/** recall@10 of searchSemantic (index search + exact re-scoring) against exact search. */
async function endToEndRecall(s: StorageHandle): Promise<void> {
  const truth = exactTruth(10);
  const idOf = (row: number) => makeMessage(row).message_id;
  let hit = 0;
  let good = 0;
  for (const [i, q] of queries.entries()) {
    const want = new Set(truth.keys[i]!.map(idOf));
    for (const h of await s.searchSemantic(q, 10, {})) {
      if (want.has(h.message_id)) hit++;
      if (h.score >= truth.kth[i]! - 1e-5) good++;
    }
  }
  console.log(`searchSemantic recall@10 vs exact: ids ${(hit / (10 * Q)).toFixed(4)}, tie-aware ${(good / (10 * Q)).toFixed(4)}`);
}

if (phases.has("store")) {
  const dir = args.dir ?? mkdtempSync(join(tmpdir(), "tglens-bench-store-"));
  if (args.dir && existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`--dir ${dir} must be empty or absent`);
  const threshold = args.threshold ? Number(args.threshold) : undefined;
  console.log(`\n## openStorage end to end (${dir}), ${N} messages in one chat, quantization ${args.quant ?? "default"}`);
  const rss0 = rss();
  const s = await openStorage({ dir, hnswThreshold: threshold, quantization: args.quant as Quantization | undefined, saveDebounceMs: 2000 });
  const B = 256;
  const t0 = performance.now();
  let upsertCallMs = 0;
  let maxCallMs = 0;
  let maxYieldMs = 0;
  for (let i = 0; i < N; i += B) {
    const batch: EmbeddedMessage[] = [];
    for (let j = i; j < Math.min(N, i + B); j++) batch.push(makeMessage(j));
    const [, t] = await timeAsync(() => s.upsert(batch));
    upsertCallMs += t;
    maxCallMs = Math.max(maxCallMs, t);
    // Yield as the service's bus handler does between batches: background HNSW slices and
    // debounced saves run here.
    const [, y] = await timeAsync(() => new Promise((r) => setImmediate(r)));
    maxYieldMs = Math.max(maxYieldMs, y);
  }
  const upsertMs = performance.now() - t0;
  console.log(
    `upsert: ${N} messages in batches of ${B}: ${(upsertMs / 1000).toFixed(1)} s = ${Math.round(N / (upsertMs / 1000))} msg/s ` +
      `(incl. building message objects and background HNSW build / saves); upsert() calls ${(upsertCallMs / 1000).toFixed(1)} s, ` +
      `longest call ${Math.round(maxCallMs)} ms, longest background turn ${Math.round(maxYieldMs)} ms`,
  );
  const [, idleMs] = await timeAsync(() => s.whenIdle());
  console.log(`whenIdle (rest of the background HNSW build, then save): ${(idleMs / 1000).toFixed(1)} s`);
  await s.upsert([makeMessage(0)].map((m) => ({ ...m, text: `${m.text} (edited)`, clean_text: `${m.clean_text} (edited)` })));
  const [, flushMs] = await timeAsync(() => s.flush());
  console.log(`flush after one edit (save the whole index): ${Math.round(flushMs)} ms; stats ${JSON.stringify(await s.stats())}`);
  const [, redeliverMs] = await timeAsync(async () => {
    for (let i = 0; i < Math.min(N, 10_000); i += B) await s.upsert(Array.from({ length: Math.min(B, N - i) }, (_, j) => makeMessage(i + j)));
  });
  console.log(`redelivery of 10k unchanged messages: ${Math.round(redeliverMs)} ms`);
  await runQueries(s);
  console.log(`RSS after build: ${mb(rss())} (before open ${mb(rss0)})`);
  await endToEndRecall(s);
  await s.close();
  console.log(
    `DB size ${mb(statSync(join(dir, "messages.db")).size)} ` +
      `(+ WAL ${mb(statSync(join(dir, "messages.db-wal"), { throwIfNoEntry: false })?.size ?? 0)})`,
  );

  // Filtered semantic search on an HNSW chat: exact scan of the matching rows vs over-fetching from
  // the index, by how many rows match (sender filters of different sizes).
  const bySender = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const id = makeMessage(i).sender.id!;
    bySender.set(id, (bySender.get(id) ?? 0) + 1);
  }
  // (Below ~1000 matching rows over-fetching degenerates into searching most of the index.)
  const buckets: Array<[number, number]> = [
    [1000, 2000],
    [2000, 4000],
    [4000, 8000],
    [8000, Infinity],
  ];
  console.log("\nsender-filtered semantic search, p50 (exact scan of matching rows | over-fetch from HNSW):");
  const stores = await Promise.all(
    [0, Number.MAX_SAFE_INTEGER].map((efm) =>
      openStorage({ dir, hnswThreshold: threshold, quantization: args.quant as Quantization | undefined, exactFilterMax: efm }),
    ),
  );
  for (const [lo, hi] of buckets) {
    const senders = [...bySender]
      .filter(([, n]) => n >= lo && n < hi)
      .map(([id]) => id)
      .slice(0, 40);
    if (senders.length === 0) continue;
    const cells: string[] = [];
    for (const efm of [Number.MAX_SAFE_INTEGER, 0]) {
      const st = stores[efm === 0 ? 0 : 1]!;
      const lat = await latencies((q, i) => st.searchSemantic(q, 10, { sender: senders[i % senders.length]! }), queries.slice(0, 30));
      cells.push(ms(pct(lat, 50)));
    }
    console.log(`  ${lo}-${hi} matching rows (${senders.length} senders): ${cells[0]} | ${cells[1]}`);
  }
  for (const st of stores) await st.close();
  if (args.dir) {
    console.log(`(kept ${dir} for --phase rss; deleteChat not measured)`);
  } else {
    const st = await openStorage({ dir, hnswThreshold: threshold, quantization: args.quant as Quantization | undefined });
    const [, delMs] = await timeAsync(() => st.deleteChat("900001"));
    console.log(`deleteChat of the ${N}-message chat: ${Math.round(delMs)} ms`);
    await st.close();
  }
  if (!args.dir) rmSync(dir, { recursive: true, force: true });
}

if (phases.has("rss")) {
  if (!args.dir) throw new Error("--phase rss needs --dir of a store built by --phase store");
  const rss0 = rss();
  const threshold = args.threshold ? Number(args.threshold) : undefined;
  const quantization = args.quant as Quantization | undefined;
  const [s, openMs] = await timeAsync(() => openStorage({ dir: args.dir!, hnswThreshold: threshold, quantization }));
  const [, firstMs] = await timeAsync(() => s.searchSemantic(queries[0]!, 10, {}));
  console.log(`\n## reopen: open ${Math.round(openMs)} ms, first search (loads the index) ${Math.round(firstMs)} ms`);
  await runQueries(s);
  const after = rss();
  await endToEndRecall(s);
  const raw = N * D * 4;
  console.log(
    `RSS: before open ${mb(rss0)}, after load + searches ${mb(after)}; storage share ${mb(after - rss0)} ` +
      `for ${mb(raw)} of raw f32 vectors (target ≤ 1.5 × raw + 200 MB = ${mb(1.5 * raw + 200 * 2 ** 20)})`,
  );
  await s.close();
}
