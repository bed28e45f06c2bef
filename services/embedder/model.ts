/**
 * all-MiniLM-L6-v2 on ONNX Runtime: @huggingface/tokenizers for WordPiece, onnxruntime-node for the transformer, then
 * what sentence-transformers' Pooling + Normalize modules do (mean over the real tokens, L2 norm), so the vectors match
 * Python's (test/services/embedder/model.test.ts, scripts/parity/).
 *
 * Chat messages are short and of very different lengths, so texts are sorted by token count and cut into sub-batches
 * whose padded size stays within a token budget (planBatches). Each embed() is a job of steps (tokenizing a slice, then
 * one ONNX call per sub-batch) run by a LaneScheduler (lanes.ts): a query waits behind bulk work for at most one step.
 * ONNX calls block the thread they run on; the embedder runs this module on a worker thread (model-worker.ts), so its
 * event loop never waits for them. Why, and the figures: docs/architecture.md ("Embedder"), docs/performance.md.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import * as hfTokenizers from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { TglensError } from "../common/errors.ts";
import { EMBEDDING_DIM } from "../common/schemas.ts";
import { LaneScheduler, type Priority, type SteppedJob } from "./lanes.ts";
import { MODEL_ID, ONNX_FILE, type ModelVariant } from "./model-files.ts";

export type { Priority } from "./lanes.ts";

export interface EmbedOptions {
  /** "query" work (a search's text) goes ahead of "bulk" work (the default: imports, batches). */
  priority?: Priority;
}

export interface EmbeddingModel {
  readonly name: string;
  readonly dim: number;
  /** One unit-length vector per text, in the caller's order. */
  embed(texts: readonly string[], opts?: EmbedOptions): Promise<Float32Array[]>;
  /** Finishes the work already queued, then releases the model; later calls fail. */
  close(): Promise<void>;
}

export interface OnnxModelOptions {
  /** A directory as resolveModelDir returns it. */
  dir: string;
  variant: ModelVariant;
  /** ONNX Runtime intra-op threads; default: the number of cores. */
  threads?: number;
  /** Truncation length including [CLS] and [SEP]; sentence-transformers' max_seq_length is 256. */
  maxTokens?: number;
  /** Upper bound on rows × padded length of one ONNX call (a single longer text still runs alone). */
  batchTokenBudget?: number;
  /** Upper bound on rows of one ONNX call. */
  maxBatchSize?: number;
  /**
   * Let idle ONNX Runtime worker threads busy-wait for the next op (ORT's default). Off by default:
   * the embedder shares two cores with Kafka and the other services, and spinning threads then
   * burn CPU they need (measured: docs/performance.md, "Embedding model costs").
   */
  spinning?: boolean;
}

export const DEFAULT_MAX_TOKENS = 256;
/**
 * The longest uninterruptible step, so the longest a query waits behind bulk work: 256 tokens, the
 * truncation length, so a long text still fits one call. On chat text the planner's cuts (padding
 * against per-call overhead) rarely make calls longer anyway, so a larger budget gains next to
 * nothing (docs/performance.md, "Embedding model costs").
 */
export const DEFAULT_BATCH_TOKEN_BUDGET = 256;
export const DEFAULT_MAX_BATCH_SIZE = 128;
/** What one ONNX call costs beyond its tokens, in tokens (measured: docs/performance.md, "Embedding model costs"). */
export const DEFAULT_CALL_OVERHEAD_TOKENS = 12;
/** Characters tokenized per step (a text longer than this is one step of its own): about as long as a call. */
export const TOKENIZE_STEP_CHARS = 16_384;

export async function loadOnnxEmbeddingModel(opts: OnnxModelOptions): Promise<EmbeddingModel> {
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 2 || maxTokens > 512) {
    // 512 = max_position_embeddings; 2 = room for [CLS] and [SEP].
    throw new TglensError("TGLENS_CONFIG", `maxTokens must be an integer in 2..512, got ${maxTokens}`);
  }
  const tokenizer = await loadBertTokenizer(opts.dir);
  const modelPath = join(opts.dir, ONNX_FILE[opts.variant]);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: opts.threads ?? availableParallelism(),
      // One graph, run op after op: inter-op threads would only compete with intra-op ones.
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: opts.spinning ? "1" : "0" } } },
    });
  } catch (err) {
    throw new TglensError("TGLENS_CONFIG", `cannot load ONNX model ${modelPath}: ${(err as Error).message}`, { cause: err });
  }
  for (const name of ["input_ids", "attention_mask"]) {
    if (!session.inputNames.includes(name)) {
      await session.release();
      throw new TglensError("TGLENS_CONFIG", `${modelPath} has no input ${name} (inputs: ${session.inputNames.join(", ")})`);
    }
  }
  const output = session.outputNames.includes("last_hidden_state") ? "last_hidden_state" : session.outputNames[0];
  if (output === undefined) throw new TglensError("TGLENS_CONFIG", `${modelPath} has no outputs`);
  return new OnnxEmbeddingModel(tokenizer, session, output, {
    maxTokens,
    budget: opts.batchTokenBudget ?? DEFAULT_BATCH_TOKEN_BUDGET,
    maxBatch: opts.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
  });
}

interface BatchConfig {
  maxTokens: number;
  budget: number;
  maxBatch: number;
}

class OnnxEmbeddingModel implements EmbeddingModel {
  readonly name = MODEL_ID;
  readonly dim = EMBEDDING_DIM;
  #tokenizer: BertTokenizer;
  #session: ort.InferenceSession | undefined;
  #output: string;
  #feedTokenTypes: boolean;
  #cfg: BatchConfig;
  #lanes = new LaneScheduler();
  #closed = false;

  constructor(tokenizer: BertTokenizer, session: ort.InferenceSession, output: string, cfg: BatchConfig) {
    this.#tokenizer = tokenizer;
    this.#session = session;
    this.#output = output;
    this.#feedTokenTypes = session.inputNames.includes("token_type_ids");
    this.#cfg = cfg;
  }

  async embed(texts: readonly string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    if (this.#closed) throw new TglensError("TGLENS_NOT_READY", "the embedding model is closed");
    if (texts.length === 0) return [];
    return this.#lanes.run(opts.priority ?? "bulk", this.#job(texts));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#lanes.idle();
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }

  /** One embed() as steps: tokenize TOKENIZE_STEP_CHARS at a time, plan, then one ONNX call per step. */
  #job(texts: readonly string[]): SteppedJob<Float32Array[]> {
    const ids: number[][] = [];
    const out = new Array<Float32Array>(texts.length);
    let batches: number[][] = [];
    let next = 0;
    return {
      step: async () => {
        if (ids.length < texts.length) {
          for (let chars = 0; ids.length < texts.length && (chars === 0 || chars + texts[ids.length]!.length <= TOKENIZE_STEP_CHARS);) {
            const text = texts[ids.length]!;
            ids.push(this.#tokenizer.encode(text, this.#cfg.maxTokens));
            chars += Math.max(text.length, 1);
          }
          if (ids.length === texts.length)
            batches = planBatches(
              ids.map((x) => x.length),
              this.#cfg.budget,
              this.#cfg.maxBatch,
            );
          return false;
        }
        const batch = batches[next++]!;
        const vectors = await this.#run(batch.map((i) => ids[i]!));
        batch.forEach((i, k) => (out[i] = vectors[k]!));
        return next === batches.length;
      },
      result: () => out,
    };
  }

  /** One ONNX call on texts of similar length, right-padded; returns pooled, normalised vectors. */
  async #run(rows: number[][]): Promise<Float32Array[]> {
    const session = this.#session;
    if (session === undefined) throw new TglensError("TGLENS_NOT_READY", "the embedding model is closed");
    const n = rows.length;
    const len = Math.max(...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(n * len); // zero = [PAD]
    const mask = new BigInt64Array(n * len);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.length; t++) {
        inputIds[b * len + t] = BigInt(r[t]!);
        mask[b * len + t] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", inputIds, [n, len]),
      attention_mask: new ort.Tensor("int64", mask, [n, len]),
    };
    if (this.#feedTokenTypes) feeds["token_type_ids"] = new ort.Tensor("int64", new BigInt64Array(n * len), [n, len]);
    const result = await session.run(feeds, [this.#output]);
    const hidden = result[this.#output];
    if (hidden === undefined || hidden.dims.length !== 3 || hidden.dims[2] !== EMBEDDING_DIM) {
      throw new TglensError("TGLENS_INTERNAL", `unexpected model output ${this.#output} ${JSON.stringify(hidden?.dims)}`);
    }
    const data = hidden.data as Float32Array;
    const vectors = rows.map((r, b) => meanPoolNormalize(data, b * len * EMBEDDING_DIM, r.length));
    for (const t of Object.values(result)) t.dispose();
    return vectors;
  }
}

/**
 * Mean over the first `count` token rows starting at `offset` (the attention mask is 1 exactly
 * there: rows are right-padded), then L2 normalisation — sentence-transformers' Pooling(mean) and
 * Normalize modules. Sums in float64: cheap, and no rounding drift over 256-token texts.
 */
export function meanPoolNormalize(hidden: Float32Array, offset: number, count: number, dim = EMBEDDING_DIM): Float32Array {
  const acc = new Float64Array(dim);
  for (let t = 0; t < count; t++) {
    const base = offset + t * dim;
    for (let d = 0; d < dim; d++) acc[d]! += hidden[base + d]!;
  }
  let norm = 0;
  for (let d = 0; d < dim; d++) {
    acc[d]! /= Math.max(count, 1);
    norm += acc[d]! * acc[d]!;
  }
  // torch.nn.functional.normalize: x / max(||x||, eps), eps = 1e-12.
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = acc[d]! * scale;
  return out;
}

/**
 * Groups text indices into ONNX calls: sorts them by token count and cuts the sorted run where it
 * minimises padded tokens + `callOverhead` per call (a call costs about as much as that many extra
 * tokens), with rows × longest ≤ `budget` and rows ≤ `maxBatch`. Padding is what dominates for
 * chat text in arrival order. Exact, by dynamic programming over cut points (O(n × maxBatch)).
 * A text longer than the budget runs alone. Returns the indices of each call, shortest first.
 */
export function planBatches(lengths: readonly number[], budget: number, maxBatch: number, callOverhead = DEFAULT_CALL_OVERHEAD_TOKENS): number[][] {
  const n = lengths.length;
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  // cost[j]: cheapest plan for the first j sorted texts; cut[j]: where its last call starts.
  const cost = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  cost[0] = 0;
  for (let j = 1; j <= n; j++) {
    const longest = lengths[order[j - 1]!]!; // sorted: the last text of a call is its longest
    for (let i = j - 1; i >= 0; i--) {
      const rows = j - i;
      if (rows > 1 && (rows > maxBatch || rows * longest > budget)) break;
      const c = cost[i]! + callOverhead + rows * longest;
      if (c < cost[j]!) {
        cost[j] = c;
        cut[j] = i;
      }
    }
  }
  const batches: number[][] = [];
  for (let j = n; j > 0; j = cut[j]!) batches.push(order.slice(cut[j]!, j));
  return batches.reverse();
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

const { Tokenizer } = hfTokenizers;
/**
 * The library's base classes for the Rust-compatible replacements below. Its .d.ts re-exports them
 * through extensionless ESM paths that TypeScript's NodeNext resolution cannot follow, so only
 * Tokenizer is typed; the classes are there at runtime. Subclassing them (rather than assigning
 * plain functions) keeps the callable objects the Tokenizer expects.
 */
const { Normalizer, PreTokenizer } = hfTokenizers as unknown as {
  Normalizer: abstract new (config: NormalizerConfig) => { config: NormalizerConfig; normalize(text: string): string };
  PreTokenizer: abstract new () => { pre_tokenize_text(text: string): string[] };
};
interface NormalizerConfig {
  type?: string;
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  strip_accents?: boolean | null;
  lowercase?: boolean;
}

export interface BertTokenizer {
  /** Token ids with [CLS] … [SEP], truncated to maxTokens with [SEP] kept last. */
  encode(text: string, maxTokens: number): number[];
}

/** The model's tokenizer from `<dir>/tokenizer.json`, with the Rust-compatible normaliser below. */
export async function loadBertTokenizer(dir: string): Promise<BertTokenizer> {
  let json: { normalizer?: NormalizerConfig | null; pre_tokenizer?: { type?: string } | null };
  let config: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8"));
    config = JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8"));
  } catch (err) {
    throw new TglensError("TGLENS_CONFIG", `cannot read the tokenizer in ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const tokenizer = new Tokenizer(json, config);
  // Swap in the Rust-compatible pieces (see below) where the file asks for the BERT ones.
  const parts = tokenizer as unknown as { normalizer: unknown; pre_tokenizer: unknown };
  if (json.normalizer?.type === "BertNormalizer") parts.normalizer = new RustBertNormalizer(json.normalizer);
  if (json.pre_tokenizer?.type === "BertPreTokenizer") parts.pre_tokenizer = new RustBertPreTokenizer();
  const sep = tokenizer.token_to_id("[SEP]");
  if (sep === undefined) throw new TglensError("TGLENS_CONFIG", `tokenizer in ${dir} has no [SEP] token`);
  return {
    encode(text, maxTokens) {
      const ids = tokenizer.encode(text).ids;
      if (ids.length <= maxTokens) return ids;
      // What sentence-transformers gets from HF's truncation: the first maxTokens-1 ids, then [SEP].
      const cut = ids.slice(0, maxTokens - 1);
      cut.push(sep);
      return cut;
    },
  };
}

/**
 * BertNormalizer as the Rust `tokenizers` library implements it — the one Python
 * sentence-transformers runs. @huggingface/tokenizers 0.2.0's own BertNormalizer differs in ways
 * found by comparing token ids with Python on the parity sentences and on every code point:
 *  1. It scans UTF-16 code units, so CJK ideographs outside the BMP (Extension B and later, e.g.
 *     𠮷) never get spaces around them and swallow the neighbouring word into one [UNK].
 *  2. It lowercases the whole string with String#toLowerCase, which applies the Final_Sigma rule
 *     (word-final Σ → ς); Rust lowercases char by char (Σ → σ always), so Greek words ending in Σ
 *     got different tokens.
 *  3. Its CJK table starts Extension E at U+2B820; Rust's starts it at U+2B920 (a typo carried
 *     since the original BERT port), so U+2B820–U+2B91F are not split there.
 *  4. Unicode drift, see RUST_UNICODE below.
 * Steps and order follow tokenizers/src/normalizers/bert.rs: drop NUL, U+FFFD and control
 * characters (Cc except \t\n\r, Cf, Co), map White_Space to " ", pad CJK with spaces, strip accents
 * (NFD, drop Mn), lowercase.
 */
class RustBertNormalizer extends Normalizer {
  override normalize(text: string): string {
    const cfg = this.config;
    let out = text;
    if (cfg.clean_text) out = out.replace(CONTROL, "").replace(WHITESPACE, " ");
    if (cfg.handle_chinese_chars) out = out.replace(CJK, " $& ");
    if (cfg.strip_accents ?? cfg.lowercase) out = out.normalize("NFD").replace(NONSPACING_MARK, "");
    if (cfg.lowercase) out = out.includes("\u03a3") ? lowercaseEachChar(out) : out.toLowerCase();
    return out;
  }
}

/** Per-character lowercasing (no Final_Sigma context), as Rust's char::to_lowercase. */
function lowercaseEachChar(s: string): string {
  let out = "";
  for (const ch of s) out += ch.toLowerCase();
  return out;
}

/**
 * BertPreTokenizer as in Rust: split on whitespace, and make every punctuation character (ASCII
 * punctuation or Unicode P*) a token of its own. The library's version differs only by drift.
 */
class RustBertPreTokenizer extends PreTokenizer {
  override pre_tokenize_text(text: string): string[] {
    return text.match(PRE_TOKEN) ?? [];
  }
}

/**
 * Unicode drift. Rust's general categories come from the `unicode_categories` crate, whose tables
 * predate Unicode 10; V8's are current. For characters added or recategorised since, Python and a
 * plain \p{..} disagree, so these are the differences, found by running Python tokenizers 0.23.3
 * and this code on every code point ("Ab<c>Σc<c>", all 1,112,064 agree) and kept honest by the
 * parity fixture's tokenizer probe. Hex code points and ranges.
 */
const RUST_UNICODE = {
  /** Cf now, but kept by Rust (not dropped as control characters). */
  cfKept: "890 891 8e2 110cd 13430-1343f",
  /** Mn now, but kept by Rust (not stripped as accents). */
  mnKept:
    "7fd 897-89f 8ca-8e1 9fe afa-aff b55 c04 c3c d00 d3b-d3c d81 eba ece 180f 1885-1886 1abf-1add 1ae0-1aeb " +
    "1df6-1dfb a82c a8c5 a8ff a9bd 10d24-10d27 10d69-10d6d 10eab-10eac 10efa-10eff 10f46-10f50 10f82-10f85 " +
    "11070 11073-11074 110c2 111c9 111cf 1123e 11241 1133b 113bb-113c0 113ce 113d0 113d2 113e1-113e2 " +
    "11438-1143f 11442-11444 11446 1145e 1182f-11837 11839-1183a 1193b-1193c 1193e 11943 119d4-119d7 " +
    "119da-119db 119e0 11a01-11a0a 11a33-11a38 11a3b-11a3e 11a47 11a51-11a56 11a59-11a5b 11a8a-11a96 " +
    "11a98-11a99 11b60 11b62-11b64 11b66 11c30-11c36 11c38-11c3d 11c3f 11c92-11ca7 11caa-11cb0 11cb2-11cb3 " +
    "11cb5-11cb6 11d31-11d36 11d3a 11d3c-11d3d 11d3f-11d45 11d47 11d90-11d91 11d95 11d97 11ef3-11ef4 " +
    "11f00-11f01 11f36-11f3a 11f40 11f42 11f5a 13440 13447-13455 1611e-16129 1612d-1612f 16f4f 16fe4 " +
    "1cf00-1cf2d 1cf30-1cf46 1e000-1e006 1e008-1e018 1e01b-1e021 1e023-1e024 1e026-1e02a 1e08f 1e130-1e136 " +
    "1e2ae 1e2ec-1e2ef 1e4ec-1e4ef 1e5ee-1e5ef 1e6e3 1e6e6 1e6ee-1e6ef 1e6f5 1e944-1e94a",
  /** Mc now, Mn in Rust's tables: stripped there. */
  mnExtra: "1734 1171e",
  /** P* now, but not split off by Rust. */
  punctKept:
    "61d 9fd a76 c77 c84 1b4e 1b4f 1b7d-1b7f 2e43-2e4f 2e52-2e5d 10d6e 10ead 10ed0 10f55-10f59 10f86-10f89 " +
    "113d4 113d5 113d7 113d8 1144b-1144f 1145a 1145b 1145d 11660-1166c 116b9 1183b 11944-11946 119e2 " +
    "11a3f-11a46 11a9a-11a9c 11a9e-11aa2 11b00-11b09 11be1 11c41-11c45 11c70 11c71 11ef7 11ef8 11f43-11f4f " +
    "11fff 12ff1 12ff2 16d6d-16d6f 16e97-16e9a 16fe2 1e5ff 1e95e 1e95f",
  /** Not P* now, P* in Rust's tables: split off there. */
  punctExtra: "166d 111c9",
};

/** "7fd 897-89f" → "\u{7fd}\u{897}-\u{89f}", the inside of a regex character class. */
function cls(list: string): string {
  return list
    .split(" ")
    .filter(Boolean)
    .map((r) =>
      r
        .split("-")
        .map((h) => `\\u{${h}}`)
        .join("-"),
    )
    .join("");
}

// The v flag allows class subtraction (A--B).
/** Cc except \t \n \r, plus Cf, Co, lone surrogates, U+FFFD. */
const CONTROL = new RegExp(`[[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufffd\\p{Cf}\\p{Co}\\p{Cs}]--[${cls(RUST_UNICODE.cfKept)}]]`, "gv");
const WHITESPACE = /\p{White_Space}/gu;
/** The ranges of bert.rs (Extension E from U+2B920, as there). */
const CJK = new RegExp(
  String.raw`[\u{4e00}-\u{9fff}\u{3400}-\u{4dbf}\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}` +
    String.raw`\u{2b920}-\u{2ceaf}\u{f900}-\u{faff}\u{2f800}-\u{2fa1f}]`,
  "gu",
);
const NONSPACING_MARK = new RegExp(`[[\\p{Mn}${cls(RUST_UNICODE.mnExtra)}]--[${cls(RUST_UNICODE.mnKept)}]]`, "gv");
const PUNCT = `[[\\p{P}\\x21-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7e${cls(RUST_UNICODE.punctExtra)}]--[${cls(RUST_UNICODE.punctKept)}]]`;
/** Runs of neither space nor punctuation, or one punctuation character. */
const PRE_TOKEN = new RegExp(`[^\\p{White_Space}${PUNCT}]+|${PUNCT}`, "gv");
