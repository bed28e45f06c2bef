/**
 * `npm run bench:compare [-- options]`: tglens side by side with the Python stack it replaces (sentence-transformers on
 * PyTorch CPU, FAISS) on the same machine, texts, vectors and thread count, each measurement in a process of its own.
 * Prints one table (figure | tglens | reference | ratio | target / met?) and writes every raw number to a JSON file.
 * What each row measures, and the latest results: docs/performance.md ("bench:compare").
 *
 * Options:
 *   --messages N          texts for the embedding comparison (default 5000)
 *   --search-messages S   vectors indexed for the search comparison (default: the whole corpus less the queries)
 *   --queries Q           held-out queries for search and the int8 overlap (default 200)
 *   --threads T           threads for ONNX Runtime, PyTorch, FAISS and the HNSW build (default: cores)
 *   --corpus PATH         a Telegram Desktop export (default ../shared/data/ubuntu-irc-train.json)
 *   --vectors FILE.f32    fp32 vectors of the corpus's cleaned texts, in order, instead of embedding them
 *   --no-import           skip the end-to-end import; --no-kafka: import in embedded mode only
 *   --json-out PATH       default bench/results/compare-<UTC timestamp>.json
 *   --reference-dir DIR   the Python side (default bench/reference; set up by its setup.py on first use)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { MODEL_ID } from "../services/embedder/model-files.ts";
import { DEFAULTS } from "../services/storage/defaults.ts";
import { ChildError, runChild, runJsonChild, runNodeJson } from "./lib/child.ts";
import { cleanedTexts, DEFAULT_CORPUS, readExportMessages, type ExportMessage } from "./lib/corpus.ts";
import { machineInfo, machineLine, packageVersion } from "./lib/machine.ts";
import { dotRows, exactTopK, readVectorFile, ROW_BYTES } from "./lib/vectors.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const EMBED_WORKER = path.join(ROOT, "bench/compare/embed-worker.ts");
const SEARCH_WORKER = path.join(ROOT, "bench/compare/search-worker.ts");
const IMPORT_BENCH = path.join(ROOT, "bench/import-bench.ts");
const VENV_PYTHON = path.join(ROOT, ".cache/parity-venv/bin/python");
const CACHE_DIR = path.join(ROOT, ".cache/bench");
/** How the rows of a cached corpus vector file were chosen; a cache made another way is not reused. */
const SELECTION = "type=message, text flattened, tglens preprocess, empty after cleaning dropped; corpus order";
const EMBED_BATCH = 256;
const IMPORT_QUERIES = 50;

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "5000" },
    "search-messages": { type: "string" },
    queries: { type: "string", default: "200" },
    threads: { type: "string", default: String(os.cpus().length) },
    corpus: { type: "string", default: DEFAULT_CORPUS },
    vectors: { type: "string" },
    "no-import": { type: "boolean", default: false },
    "no-kafka": { type: "boolean", default: false },
    "json-out": { type: "string" },
    "reference-dir": { type: "string", default: "bench/reference" },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive integer, not ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};
const N = positiveInt("messages", args.messages);
const Q = positiveInt("queries", args.queries);
const T = positiveInt("threads", args.threads);
const S_ARG = args["search-messages"] === undefined ? undefined : positiveInt("search-messages", args["search-messages"]);
const corpusPath = path.resolve(args.corpus!);
const referenceDir = path.resolve(args["reference-dir"]!);
const startedAt = new Date();
const jsonOut = path.resolve(
  args["json-out"] ??
    path.join(
      ROOT,
      "bench/results",
      `compare-${startedAt
        .toISOString()
        .replace(/:/g, "-")
        .replace(/\.\d+Z$/, "Z")}.json`,
    ),
);
const HNSW = { ...DEFAULTS.hnsw, quantization: DEFAULTS.quantization };
/**
 * How the storage's searchSemantic (services/storage/search/semantic.ts) uses a quantized index: it fetches 2 × k candidates and re-ranks
 * them by their float32 vectors (an f32 index is used as is). Mirrored here, not imported: the
 * factor is inline in searchSemantic.
 */
const RERANK = HNSW.quantization === "f32" ? 1 : 2;

const log = (line: string) => process.stderr.write(`# ${line}\n`);
/** A path as printed: relative inside the project, absolute elsewhere. */
const shown = (p: string) => (path.relative(ROOT, p).startsWith("..") ? p : path.relative(ROOT, p));
// Texts, vectors and truth files of this run; removed however the run ends.
const tmp = mkdtempSync(path.join(os.tmpdir(), "tglens-compare-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
const loadStart = os.loadavg();

// ---- result types ------------------------------------------------------------------------------

interface EmbedRun {
  variant: string;
  threads: number | null;
  texts: number;
  batch_size: number;
  seconds: number;
  messages_per_s: number;
  peak_rss_mb: number;
}
interface RefEmbed {
  tool: string;
  versions: Record<string, string>;
  threads: number;
  texts: number;
  by_batch_size: { batch_size: number; seconds: number; messages_per_s: number }[];
  best: { batch_size: number; messages_per_s: number };
  peak_rss_mb: number;
}
interface SearchRun {
  index: string;
  n: number;
  queries: number;
  build_s: number;
  p50_ms: number;
  p99_ms: number;
  recall_at_10?: number;
  recall_at_10_tie_aware?: number;
  /** The index's own top 10, without the re-ranking (equal to the above when rerank_factor is 1). */
  index_only: { p50_ms: number; p99_ms: number; recall_at_10?: number; recall_at_10_tie_aware?: number };
  peak_rss_mb: number;
  [more: string]: unknown;
}
interface RefSearch {
  tool: string;
  versions: Record<string, string>;
  threads: number;
  n: number;
  queries: number;
  flat: { build_s: number; p50_ms: number; p99_ms: number };
  hnsw: { m: number; ef_construction: number; ef_search: number; build_s: number; p50_ms: number; p99_ms: number; recall_at_10: number };
  peak_rss_mb: number;
}
interface ImportEmbedded {
  embedded_texts: number;
  embed_messages_per_s: number;
  import_state: string;
  import_stored: number;
  import_messages_per_s: number;
  import_seconds: number;
  search_p50_ms: number;
  search_p99_ms: number;
  peak_rss_mb: number;
  [more: string]: unknown;
}
interface ImportMode {
  mode: string;
  seconds: number;
  messages_per_s: number;
  stored: number;
  state: string;
  [more: string]: unknown;
}
/** import-bench --json: --mode both prints {embedded, import_modes}, --mode embedded the embedded figures alone. */
type ImportBenchJson = { embedded?: ImportEmbedded; import_modes: ImportMode[] } | (ImportEmbedded & { import_modes?: undefined });

// ---- steps ---------------------------------------------------------------------------------------

const errors: Record<string, string> = {};

/** Runs one measurement; a failure is logged and recorded, and the bench goes on without it. */
async function step<R>(key: string, what: string, fn: () => Promise<R>): Promise<R | undefined> {
  log(what);
  try {
    return await fn();
  } catch (err) {
    const reason = err instanceof ChildError ? err.reason : err instanceof Error ? err.message : String(err);
    errors[key] = reason;
    log(`${what}: failed: ${reason}`);
    return undefined;
  }
}

let referenceState: { ok: true } | { ok: false; reason: string } | undefined;
/** Sets up the Python side once, before its first step; false (with the reason printed) if unusable. */
async function referenceReady(): Promise<boolean> {
  if (referenceState === undefined) {
    const setup = path.join(referenceDir, "setup.py");
    const script = path.join(referenceDir, "reference.py");
    if (!existsSync(script) || !existsSync(setup)) {
      referenceState = { ok: false, reason: `${shown(existsSync(setup) ? script : setup)} not found` };
    } else {
      log(`setting up the Python reference: python3 ${shown(setup)}`);
      try {
        const said = (await runChild("python3", [setup], { cwd: ROOT })).trim();
        if (said) log(said);
        referenceState = existsSync(VENV_PYTHON) ? { ok: true } : { ok: false, reason: `setup.py left no ${shown(VENV_PYTHON)}` };
      } catch (err) {
        referenceState = { ok: false, reason: `setup.py ${err instanceof ChildError ? err.reason : (err as Error).message}` };
      }
    }
    if (!referenceState.ok) {
      errors["reference_setup"] = referenceState.reason;
      process.stdout.write(`reference (Python) unavailable: ${referenceState.reason} — reporting tglens figures only\n`);
    }
  }
  return referenceState.ok;
}

function reference<R>(argv: string[]): Promise<R> {
  return runJsonChild<R>(VENV_PYTHON, [path.join(referenceDir, "reference.py"), ...argv], { cwd: ROOT });
}

function writeJsonl(file: string, texts: readonly string[]): void {
  writeFileSync(file, texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
}

// 1. Input -----------------------------------------------------------------------------------------

log(`reading ${corpusPath}`);
let messages: ExportMessage[] | undefined = await readExportMessages(corpusPath);
const texts = cleanedTexts(messages, N);
const textsFile = path.join(tmp, "texts.jsonl");
writeJsonl(textsFile, texts);
log(
  `${texts.length} texts (first ${N} non-empty after cleaning), ` +
    `mean ${Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length)} characters`,
);

// 2. Embedding throughput ----------------------------------------------------------------------------

const vectorsOf = { fp32: path.join(tmp, "fp32.f32"), int8: path.join(tmp, "int8.f32") };
const embedTglens = (variant: "fp32" | "int8") =>
  step(`embed_${variant}`, `tglens ${variant}: embedding ${texts.length} texts, ${T} threads`, () =>
    runNodeJson<EmbedRun>(EMBED_WORKER, [
      "--texts",
      textsFile,
      "--variant",
      variant,
      "--threads",
      String(T),
      "--batch",
      String(EMBED_BATCH),
      "--out",
      vectorsOf[variant],
    ]),
  );
const fp32 = await embedTglens("fp32");
const int8 = await embedTglens("int8");
const stEmbed = (await referenceReady())
  ? await step("reference_embed", `sentence-transformers: embedding ${texts.length} texts, ${T} threads, batch sizes 32 and 256`, () =>
      reference<RefEmbed>(["embed", "--texts", textsFile, "--threads", String(T), "--batch-sizes", "32,256"]),
    )
  : undefined;

// 3. int8 quality -------------------------------------------------------------------------------------

interface Quality {
  texts: number;
  cosine_mean: number;
  cosine_min: number;
  queries: number;
  database: number;
  top10_overlap: number;
  top10_overlap_tie_aware: number;
}
let quality: Quality | undefined;
if (fp32 && int8) {
  quality = await step("int8_quality", "int8 quality: cosine to fp32, top-10 overlap", async () => {
    const a = readVectorFile(vectorsOf.fp32);
    const b = readVectorFile(vectorsOf.int8);
    if (a.rows !== b.rows) throw new Error(`fp32 has ${a.rows} vectors, int8 ${b.rows}`);
    let sum = 0;
    let min = Infinity;
    for (let i = 0; i < a.rows; i++) {
      const c = dotRows(a.data, i, b.data, i); // both unit length: the dot product is the cosine
      sum += c;
      min = Math.min(min, c);
    }
    // The last queries against the rest; at least half the texts stay in the database.
    const q = Math.min(Q, Math.floor(a.rows / 2));
    const n = a.rows - q;
    let overlap = 0;
    let tieAware = 0;
    for (let i = 0; i < q; i++) {
      const top = exactTopK(a.data, n, a.data, n + i, 10);
      const want = new Set(top);
      const kth = dotRows(a.data, top[9]!, a.data, n + i);
      for (const r of exactTopK(b.data, n, b.data, n + i, 10)) {
        if (want.has(r)) overlap += 0.1;
        // A result whose fp32 score equals the fp32 10th's is as good (a repeated "thanks").
        if (dotRows(a.data, r, a.data, n + i) >= kth - 1e-5) tieAware += 0.1;
      }
    }
    return {
      texts: a.rows,
      cosine_mean: round(sum / a.rows, 4),
      cosine_min: round(min, 4),
      queries: q,
      database: n,
      top10_overlap: round(overlap / q, 4),
      top10_overlap_tie_aware: round(tieAware / q, 4),
    };
  });
}

// 4. Vector search ---------------------------------------------------------------------------------

interface CorpusSidecar {
  corpus: string;
  corpus_bytes: number;
  selection: string;
  model: string;
  variant: "fp32";
  texts: number;
  /** Whether these are all the texts of the corpus. */
  complete: boolean;
  created: string;
  threads: number;
  embed_seconds: number;
}
const corpusBytes = statSync(corpusPath).size;

/** The smallest cached vector file of this corpus with at least `want` rows (or all its texts). */
function cachedCorpusVectors(want: number | "all"): { file: string; sidecar: CorpusSidecar } | undefined {
  if (!existsSync(CACHE_DIR)) return undefined;
  let best: { file: string; sidecar: CorpusSidecar } | undefined;
  for (const name of readdirSync(CACHE_DIR)) {
    if (!/^corpus-\d+-fp32\.json$/.test(name)) continue;
    let sc: CorpusSidecar;
    try {
      sc = JSON.parse(readFileSync(path.join(CACHE_DIR, name), "utf8")) as CorpusSidecar;
    } catch {
      continue;
    }
    const file = path.join(CACHE_DIR, name.replace(/\.json$/, ".f32"));
    if (sc.corpus !== corpusPath || sc.corpus_bytes !== corpusBytes || sc.selection !== SELECTION || sc.model !== MODEL_ID) continue;
    if (!existsSync(file) || statSync(file).size !== sc.texts * ROW_BYTES) continue;
    if (!(sc.complete || (want !== "all" && sc.texts >= want))) continue;
    if (!best || sc.texts < best.sidecar.texts) best = { file, sidecar: sc };
  }
  return best;
}

/** Embeds the first `want` texts of the corpus (or all) with tglens fp32 into the cache. */
async function embedCorpus(want: number | "all"): Promise<{ file: string; sidecar: CorpusSidecar }> {
  const corpusTexts = cleanedTexts(messages!, want === "all" ? Infinity : want);
  const complete = want === "all" || corpusTexts.length < want;
  const name = `corpus-${corpusTexts.length}-fp32`;
  const file = path.join(CACHE_DIR, `${name}.f32`);
  const jsonl = path.join(tmp, "corpus-texts.jsonl");
  writeJsonl(jsonl, corpusTexts);
  mkdirSync(CACHE_DIR, { recursive: true });
  const part = `${file}.${process.pid}.part`;
  log(`embedding ${corpusTexts.length} corpus texts with tglens fp32 into ${shown(file)} (once; later runs reuse it)`);
  try {
    const run = await runNodeJson<EmbedRun>(EMBED_WORKER, [
      "--texts",
      jsonl,
      "--variant",
      "fp32",
      "--threads",
      String(T),
      "--batch",
      String(EMBED_BATCH),
      "--out",
      part,
      "--progress",
      "corpus vectors",
    ]);
    renameSync(part, file);
    const sidecar: CorpusSidecar = {
      corpus: corpusPath,
      corpus_bytes: corpusBytes,
      selection: SELECTION,
      model: MODEL_ID,
      variant: "fp32",
      texts: corpusTexts.length,
      complete,
      created: new Date().toISOString(),
      threads: T,
      embed_seconds: run.seconds,
    };
    writeFileSync(path.join(CACHE_DIR, `${name}.json`), JSON.stringify(sidecar, null, 2) + "\n");
    return { file, sidecar };
  } finally {
    rmSync(part, { force: true });
    rmSync(jsonl, { force: true });
  }
}

interface SearchSetup {
  /** The vector file given to every search process: database rows [0, S), queries [S, S + Q), the rest unread. */
  file: string;
  source: string;
  S: number;
}
const searchSetup = await step("search_vectors", "search: fp32 vectors of the corpus", async (): Promise<SearchSetup> => {
  let file: string;
  let rows: number;
  let source: string;
  if (args.vectors) {
    file = path.resolve(args.vectors);
    const size = statSync(file).size;
    if (size % ROW_BYTES !== 0) throw new Error(`${file}: ${size} bytes is not a whole number of ${ROW_BYTES}-byte rows`);
    rows = size / ROW_BYTES;
    source = file;
  } else {
    const want = S_ARG === undefined ? "all" : S_ARG + Q;
    const cached = cachedCorpusVectors(want) ?? (await embedCorpus(want));
    file = cached.file;
    rows = cached.sidecar.texts;
    source = shown(file);
  }
  let S = S_ARG ?? rows - Q;
  if (S + Q > rows) {
    S = rows - Q;
    log(`only ${rows} vectors: searching ${S} with ${Q} queries`);
  }
  if (S < 10) throw new Error(`${rows} vectors are too few for ${Q} queries`);
  return { file, source, S };
});
messages = undefined; // the parsed corpus is no longer needed

let faiss: RefSearch | undefined;
let exact: SearchRun | undefined;
let hnsw: SearchRun | undefined;
let truthSource: string | undefined;
let exactAgreement: number | undefined;
if (searchSetup) {
  const { file, S } = searchSetup;
  const common = ["--vectors", file, "--n", String(S), "--queries", String(Q)];
  const faissTruth = path.join(tmp, "truth-faiss.json");
  const tglensTruth = path.join(tmp, "truth-tglens.json");
  if (await referenceReady()) {
    faiss = await step(
      "reference_search",
      `FAISS: flat and HNSW (M ${HNSW.connectivity}, efConstruction ${HNSW.expansionAdd}, efSearch ${HNSW.expansionSearch}) ` +
        `on ${S} vectors, ${Q} queries`,
      () =>
        reference<RefSearch>([
          "search",
          ...common,
          "--threads",
          String(T),
          "--k",
          "10",
          "--m",
          String(HNSW.connectivity),
          "--ef-construction",
          String(HNSW.expansionAdd),
          "--ef-search",
          String(HNSW.expansionSearch),
          "--out-truth",
          faissTruth,
        ]),
    );
  }
  exact = await step("tglens_exact", `tglens exact search on ${S} vectors, ${Q} queries`, () =>
    runNodeJson<SearchRun>(SEARCH_WORKER, [...common, "--index", "exact", "--out-truth", tglensTruth]),
  );
  const truth = faiss && existsSync(faissTruth) ? faissTruth : exact && existsSync(tglensTruth) ? tglensTruth : undefined;
  truthSource = truth === faissTruth ? "faiss flat (reference)" : truth === tglensTruth ? "tglens exact" : undefined;
  if (existsSync(faissTruth) && existsSync(tglensTruth)) {
    // Both exact searches should agree, up to the order of exactly equal vectors.
    const a = JSON.parse(readFileSync(faissTruth, "utf8")) as number[][];
    const b = JSON.parse(readFileSync(tglensTruth, "utf8")) as number[][];
    exactAgreement = round(a.reduce((s, ids, i) => s + ids.slice(0, 10).filter((id) => new Set(b[i]).has(id)).length / 10, 0) / a.length, 4);
  }
  hnsw = await step(
    "tglens_hnsw",
    `tglens HNSW (M ${HNSW.connectivity}, ef_add ${HNSW.expansionAdd}, ef_search ${HNSW.expansionSearch}, ${HNSW.quantization}) ` +
      `on ${S} vectors, ${T} build threads`,
    () =>
      runNodeJson<SearchRun>(SEARCH_WORKER, [
        ...common,
        "--index",
        "hnsw",
        "--threads",
        String(T),
        "--m",
        String(HNSW.connectivity),
        "--ef-construction",
        String(HNSW.expansionAdd),
        "--ef-search",
        String(HNSW.expansionSearch),
        "--quantization",
        HNSW.quantization,
        "--rerank",
        String(RERANK),
        ...(truth ? ["--truth", truth] : []),
      ]),
  );
}

// 5. End-to-end import -------------------------------------------------------------------------------

const importMode = args["no-kafka"] ? "embedded" : "both";
const importRun = args["no-import"]
  ? undefined
  : await step("import", `end-to-end import: bench/import-bench.ts --messages ${N} --mode ${importMode}`, () =>
      runNodeJson<ImportBenchJson>(
        IMPORT_BENCH,
        ["--messages", String(N), "--queries", String(IMPORT_QUERIES), "--mode", importMode, "--json", "--corpus", corpusPath],
        { cwd: ROOT },
      ),
    );
const importEmbedded = importRun?.import_modes ? importRun.embedded : importRun;
const importModes = importRun?.import_modes ?? [];
const kafkaRun = (embedders: number) => importModes.find((m) => m.mode === (embedders === 1 ? "kafka, 1 embedder" : `kafka, ${embedders} embedders`));
/**
 * An import's stored messages/s over the bare embedder's embedded messages/s, the same unit on both
 * sides (import-bench's import rate counts every message of the export, service and empty ones
 * too). Derived from its messages/s rather than its seconds, which it rounds to 0.1 s.
 */
const ofBare = (messagesPerS: number, stored: number) =>
  importEmbedded ? (messagesPerS * stored) / N / importEmbedded.embed_messages_per_s : undefined;
const importRatio = importEmbedded ? ofBare(importEmbedded.import_messages_per_s, importEmbedded.import_stored) : undefined;
const kafkaRatio = (embedders: number) => {
  const k = kafkaRun(embedders);
  const r = k && ofBare(k.messages_per_s, k.stored);
  return r === undefined ? undefined : round(r, 3);
};

// 6. Report ---------------------------------------------------------------------------------------------

const loadEnd = os.loadavg();

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : undefined);
const int = (x: number) => Math.round(x).toLocaleString("en");
const fixed = (x: number | undefined, digits: number, unit = "") => (x === undefined ? "n/a" : `${x.toFixed(digits)}${unit}`);
const times = (x: number | undefined) => (x === undefined ? "n/a" : `${x.toFixed(2)}×`);
const yesNo = (met: boolean | undefined) => (met === undefined ? "n/a" : met ? "yes" : "no");

const stBest = stEmbed?.best.messages_per_s;
const S = searchSetup?.S;
const rawBytes = searchSetup ? searchSetup.S * ROW_BYTES : undefined;
const memoryBudgetMb = rawBytes !== undefined ? (1.5 * rawBytes) / 2 ** 20 + 200 : undefined;
const FULL_CORPUS = 190_000; // "search on 196k": a run on less says so next to the verdict
const atSize = S !== undefined && S < FULL_CORPUS ? ` (at ${int(S)}, not 196k)` : "";

interface Target {
  id: string;
  target: string;
  value: number | undefined;
  met: boolean | undefined;
  note?: string;
}
const fp32Ratio = ratio(fp32?.messages_per_s, stBest);
const int8Ratio = ratio(int8?.messages_per_s, stBest);
const targets: Target[] = [
  {
    id: "embedding_fp32",
    target: "tglens fp32 ≥ 1.5 × ST messages/s",
    value: fp32Ratio,
    met: fp32Ratio === undefined ? undefined : fp32Ratio >= 1.5,
  },
  { id: "embedding_int8", target: "tglens int8 ≥ 3 × ST messages/s", value: int8Ratio, met: int8Ratio === undefined ? undefined : int8Ratio >= 3 },
  {
    id: "int8_overlap",
    target: "int8 top-10 overlap with fp32 ≥ 0.95",
    value: quality?.top10_overlap,
    met: quality ? quality.top10_overlap >= 0.95 : undefined,
  },
  {
    id: "import",
    target: "import (embedded) ≥ 0.85 × bare embedder",
    value: importRatio === undefined ? undefined : round(importRatio, 3),
    met: importRatio === undefined ? undefined : importRatio >= 0.85,
  },
  {
    id: "search_p99",
    target: "HNSW search p99 ≤ 10 ms (196k)",
    value: hnsw?.p99_ms,
    met: hnsw ? hnsw.p99_ms <= 10 : undefined,
    ...(atSize ? { note: `measured on ${S} vectors` } : {}),
  },
  {
    id: "search_recall",
    target: "HNSW recall@10 ≥ 0.98 (196k)",
    value: hnsw?.recall_at_10,
    met: hnsw?.recall_at_10 === undefined ? undefined : hnsw.recall_at_10 >= 0.98,
    ...(atSize ? { note: `measured on ${S} vectors` } : {}),
  },
  {
    id: "storage_memory",
    target: "HNSW process peak RSS ≤ 1.5 × raw vectors + 200 MB",
    value: hnsw?.peak_rss_mb,
    met: hnsw && memoryBudgetMb !== undefined ? hnsw.peak_rss_mb <= memoryBudgetMb : undefined,
    ...(memoryBudgetMb !== undefined ? { note: `budget ${Math.round(memoryBudgetMb)} MB for ${S} vectors` } : {}),
  },
];
const verdict = (id: string, label: string, suffix = "") => {
  const t = targets.find((x) => x.id === id)!;
  return `${label}: ${yesNo(t.met)}${t.met === undefined ? "" : suffix}`;
};

type Row = [figure: string, tglens: string, reference: string, ratio: string, target: string];
const rows: Row[] = [];
const section = (title: string) => rows.push([`**${title}**`, "", "", "", ""]);

section(`embedding, ${texts.length} texts, ${T} threads (messages/s)`);
rows.push([
  "tglens fp32 vs ST (best batch size)",
  fixed(fp32?.messages_per_s, 0),
  stEmbed ? `${int(stEmbed.best.messages_per_s)} (batch ${stEmbed.best.batch_size})` : "n/a",
  times(fp32Ratio),
  verdict("embedding_fp32", "≥ 1.5×"),
]);
rows.push([
  "tglens int8 vs ST (best batch size)",
  fixed(int8?.messages_per_s, 0),
  stEmbed ? `${int(stEmbed.best.messages_per_s)}` : "n/a",
  times(int8Ratio),
  verdict("embedding_int8", "≥ 3×"),
]);
for (const b of stEmbed?.by_batch_size ?? [])
  rows.push([`ST at batch size ${b.batch_size}`, "", int(b.messages_per_s), times(ratio(fp32?.messages_per_s, b.messages_per_s)), ""]);
rows.push([
  "peak RSS, fp32 (MB)",
  fixed(fp32?.peak_rss_mb, 0),
  fixed(stEmbed?.peak_rss_mb, 0),
  times(ratio(fp32?.peak_rss_mb, stEmbed?.peak_rss_mb)),
  "",
]);
rows.push([
  "peak RSS, int8 (MB)",
  fixed(int8?.peak_rss_mb, 0),
  fixed(stEmbed?.peak_rss_mb, 0),
  times(ratio(int8?.peak_rss_mb, stEmbed?.peak_rss_mb)),
  "",
]);
section("int8 quality (vs tglens fp32)");
rows.push(["cosine int8 to fp32, mean (min)", quality ? `${quality.cosine_mean.toFixed(4)} (${quality.cosine_min.toFixed(4)})` : "n/a", "—", "", ""]);
rows.push([
  `top-10 overlap (tie-aware), ${quality?.queries ?? Q} queries × ${quality ? int(quality.database) : "?"}`,
  quality ? `${quality.top10_overlap.toFixed(3)} (${quality.top10_overlap_tie_aware.toFixed(3)})` : "n/a",
  "—",
  "",
  verdict("int8_overlap", "≥ 0.95"),
]);
section(`search, ${S === undefined ? "n/a" : int(S)} vectors, ${Q} queries, k = 10`);
rows.push(["exact: build (s)", fixed(exact?.build_s, 2), fixed(faiss?.flat.build_s, 2), times(ratio(exact?.build_s, faiss?.flat.build_s)), ""]);
rows.push([
  "exact: p50 / p99 (ms)",
  exact ? `${exact.p50_ms.toFixed(2)} / ${exact.p99_ms.toFixed(2)}` : "n/a",
  faiss ? `${faiss.flat.p50_ms.toFixed(2)} / ${faiss.flat.p99_ms.toFixed(2)}` : "n/a",
  faiss && exact ? `${times(ratio(exact.p50_ms, faiss.flat.p50_ms))} / ${times(ratio(exact.p99_ms, faiss.flat.p99_ms))}` : "",
  "",
]);
rows.push([
  `HNSW M ${HNSW.connectivity} efC ${HNSW.expansionAdd} ef ${HNSW.expansionSearch}: build (s)`,
  fixed(hnsw?.build_s, 2),
  fixed(faiss?.hnsw.build_s, 2),
  times(ratio(hnsw?.build_s, faiss?.hnsw.build_s)),
  "",
]);
const asStorage = RERANK > 1 ? `, top ${RERANK * 10} re-ranked by f32` : "";
rows.push([`HNSW${asStorage}: p50 (ms)`, fixed(hnsw?.p50_ms, 2), fixed(faiss?.hnsw.p50_ms, 2), times(ratio(hnsw?.p50_ms, faiss?.hnsw.p50_ms)), ""]);
rows.push([
  `HNSW${asStorage}: p99 (ms)`,
  fixed(hnsw?.p99_ms, 2),
  fixed(faiss?.hnsw.p99_ms, 2),
  times(ratio(hnsw?.p99_ms, faiss?.hnsw.p99_ms)),
  verdict("search_p99", "≤ 10 ms", atSize),
]);
rows.push([
  `HNSW${asStorage}: recall@10 (tie-aware)`,
  hnsw?.recall_at_10 !== undefined ? `${hnsw.recall_at_10.toFixed(3)} (${hnsw.recall_at_10_tie_aware!.toFixed(3)})` : "n/a",
  fixed(faiss?.hnsw.recall_at_10, 3),
  times(ratio(hnsw?.recall_at_10, faiss?.hnsw.recall_at_10)),
  verdict("search_recall", "≥ 0.98", atSize),
]);
if (RERANK > 1) {
  const o = hnsw?.index_only;
  rows.push([
    "HNSW index alone: p50 / p99 (ms), recall@10",
    o ? `${o.p50_ms.toFixed(2)} / ${o.p99_ms.toFixed(2)}, ${fixed(o.recall_at_10, 3)}` : "n/a",
    faiss ? `${faiss.hnsw.p50_ms.toFixed(2)} / ${faiss.hnsw.p99_ms.toFixed(2)}, ${faiss.hnsw.recall_at_10.toFixed(3)}` : "n/a",
    "",
    "",
  ]);
}
rows.push([
  `peak RSS, HNSW process (MB; raw f32 vectors ${rawBytes === undefined ? "n/a" : int(rawBytes / 2 ** 20)})`,
  fixed(hnsw?.peak_rss_mb, 0),
  faiss ? `${int(faiss.peak_rss_mb)} (flat + HNSW)` : "n/a",
  times(ratio(hnsw?.peak_rss_mb, faiss?.peak_rss_mb)),
  verdict("storage_memory", `≤ ${memoryBudgetMb === undefined ? "n/a" : int(memoryBudgetMb)} MB`),
]);
rows.push(["peak RSS, exact process (MB)", fixed(exact?.peak_rss_mb, 0), "—", "", ""]);
if (!args["no-import"]) {
  section(`end-to-end import, ${N} messages (messages/s; ratio ÷ bare)`);
  rows.push(["bare embedder (the model alone)", importEmbedded ? int(importEmbedded.embed_messages_per_s) : "n/a", "—", "", ""]);
  rows.push([
    "embedded mode, one process",
    importEmbedded ? int(importEmbedded.import_messages_per_s) : "n/a",
    "—",
    times(importRatio),
    verdict("import", "≥ 0.85×"),
  ]);
  for (const e of [1, 2]) {
    const k = kafkaRun(e);
    if (k) rows.push([`Kafka, five processes, ${e} embedder${e > 1 ? "s" : ""}`, int(k.messages_per_s), "—", times(kafkaRatio(e)), ""]);
  }
}

const machine = machineInfo();
const versions = {
  "onnxruntime-node": packageVersion("onnxruntime-node"),
  usearch: packageVersion("usearch"),
  ...(stEmbed?.versions ?? {}),
  ...(faiss?.versions ?? {}),
};
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
const machineText =
  `${machineLine(machine)}, ${Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}; ` + `${T} threads; load average ${la(loadStart)} at start, ${la(loadEnd)} at end`;

const widths = [0, 1, 2, 3, 4].map((c) =>
  Math.max(...[["figure", "tglens", "reference", "ratio", "target / met?"], ...rows].map((r) => r[c]!.length)),
);
const line = (r: readonly string[]) =>
  `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(c === 4 ? 0 : widths[c]!).padEnd(widths[c]!))).join(" | ")} |`;
process.stdout.write(`\ntglens vs the Python stack (sentence-transformers + FAISS), ratio = tglens ÷ reference\n\n`);
process.stdout.write(`${line(["figure", "tglens", "reference", "ratio", "target / met?"])}\n`);
process.stdout.write(`|${widths.map((w, c) => (c === 0 || c === 4 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|\n`);
for (const r of rows) process.stdout.write(`${line(r)}\n`);
process.stdout.write(`\nmachine: ${machineText}\n`);
const met = targets.filter((t) => t.met === true).length;
const known = targets.filter((t) => t.met !== undefined).length;
process.stdout.write(`targets met: ${met} of ${known} measured (${targets.length} in all)\n`);
if (Object.keys(errors).length > 0)
  process.stdout.write(
    `failed or skipped: ${Object.entries(errors)
      .map(([k, v]) => `${k} (${v})`)
      .join("; ")}\n`,
  );

const result = {
  bench: "tglens bench:compare",
  started_at: startedAt.toISOString(),
  finished_at: new Date().toISOString(),
  options: {
    messages: N,
    search_messages: S_ARG ?? null,
    queries: Q,
    threads: T,
    corpus: corpusPath,
    vectors: args.vectors ?? null,
    import: !args["no-import"],
    kafka: !args["no-kafka"],
  },
  machine: { ...machine, versions, threads: T, loadavg_start: loadStart.map((x) => round(x, 2)), loadavg_end: loadEnd.map((x) => round(x, 2)) },
  input: {
    corpus: corpusPath,
    corpus_bytes: corpusBytes,
    texts: texts.length,
    mean_chars: round(texts.reduce((s, t) => s + t.length, 0) / texts.length, 1),
  },
  reference_setup: referenceState ?? null,
  embedding: {
    tglens_fp32: fp32 ?? null,
    tglens_int8: int8 ?? null,
    reference: stEmbed ?? null,
    ratio_fp32_to_st: fp32Ratio ?? null,
    ratio_int8_to_st: int8Ratio ?? null,
  },
  int8_quality: quality ?? null,
  search: searchSetup
    ? {
        vectors: searchSetup.source,
        n: searchSetup.S,
        queries: Q,
        raw_vector_bytes: rawBytes,
        memory_budget_mb: memoryBudgetMb === undefined ? null : Math.round(memoryBudgetMb),
        hnsw_params: { ...HNSW, rerank_factor: RERANK },
        truth: truthSource ?? null,
        exact_agreement_tglens_faiss: exactAgreement ?? null,
        tglens_exact: exact ?? null,
        tglens_hnsw: hnsw ?? null,
        reference: faiss ?? null,
        ratios: {
          exact_p50: ratio(exact?.p50_ms, faiss?.flat.p50_ms) ?? null,
          exact_p99: ratio(exact?.p99_ms, faiss?.flat.p99_ms) ?? null,
          hnsw_build: ratio(hnsw?.build_s, faiss?.hnsw.build_s) ?? null,
          hnsw_p50: ratio(hnsw?.p50_ms, faiss?.hnsw.p50_ms) ?? null,
          hnsw_p99: ratio(hnsw?.p99_ms, faiss?.hnsw.p99_ms) ?? null,
          hnsw_recall: ratio(hnsw?.recall_at_10, faiss?.hnsw.recall_at_10) ?? null,
          hnsw_peak_rss: ratio(hnsw?.peak_rss_mb, faiss?.peak_rss_mb) ?? null,
        },
      }
    : null,
  import: importRun
    ? {
        mode: importMode,
        bench: importRun,
        ratio_embedded_to_bare: importRatio === undefined ? null : round(importRatio, 3),
        ratio_kafka_1_to_bare: kafkaRatio(1) ?? null,
        ratio_kafka_2_to_bare: kafkaRatio(2) ?? null,
      }
    : null,
  targets,
  errors,
  table: rows.map(([figure, tglens, reference, r, target]) => ({ figure, tglens, reference, ratio: r, target })),
};
mkdirSync(path.dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify(result, null, 2) + "\n");
process.stdout.write(`raw numbers: ${shown(jsonOut)}\n`);
