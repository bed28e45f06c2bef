/**
 * The embedder against the real model: vectors must match Python sentence-transformers
 * (test/fixtures/parity/reference.json, made by scripts/parity/make_reference.py), token ids must
 * match its Rust tokenizer, and batching must not change results. The model tests skip (counted,
 * with the reason) only when the model files are absent (`npm run model:fetch`); the pure helpers
 * are tested regardless.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isTglensError } from "../../../services/common/errors.ts";
import { CACHE_SUBDIR, missingFiles } from "../../../services/embedder/model-files.ts";
import { loadBertTokenizer, loadOnnxEmbeddingModel, meanPoolNormalize, planBatches, type EmbeddingModel } from "../../../services/embedder/model.ts";

interface Reference {
  model: string;
  sentences: string[];
  input_ids: number[][];
  vectors: number[][];
  tokenizer_probe: {
    template: string;
    block: number;
    sampled: { ranges: [number, number][]; every: number };
    edges: number[];
    count: number;
    digests: Record<string, string>;
  };
}

const ref: Reference = JSON.parse(readFileSync(new URL("../../fixtures/parity/reference.json", import.meta.url), "utf8"));
/** Where `npm run model:fetch` puts the files (TGLENS_MODEL_CACHE, default <repo>/.cache/models), or TGLENS_MODEL_DIR. */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const modelDir = process.env["TGLENS_MODEL_DIR"] || join(resolve(repoRoot, process.env["TGLENS_MODEL_CACHE"] || ".cache/models"), CACHE_SUBDIR);
const fp32Missing = await missingFiles(modelDir, "fp32");
const int8Missing = await missingFiles(modelDir, "int8");
const skipFp32 = fp32Missing.length > 0 ? `model files absent in ${modelDir} (${fp32Missing.join(", ")}): run \`npm run model:fetch\`` : false;
const skipInt8 = int8Missing.length > 0 ? `int8 model absent in ${modelDir} (${int8Missing.join(", ")}): run \`npm run model:fetch\`` : false;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("planBatches", () => {
  test("puts every index in exactly one batch, short texts first, within the budget", () => {
    const lengths = [30, 5, 5, 200, 7, 12, 12, 12, 3, 64, 5, 9];
    const batches = planBatches(lengths, 64, 4);
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      lengths.map((_, i) => i),
    );
    for (const b of batches) {
      assert.ok(b.length <= 4);
      const longest = Math.max(...b.map((i) => lengths[i]!));
      // A single text longer than the budget still runs, alone.
      assert.ok(b.length * longest <= 64 || b.length === 1, `batch ${JSON.stringify(b)} over budget`);
    }
    const order = batches.flat().map((i) => lengths[i]!);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
  });

  test("no input, no batches", () => {
    assert.deepEqual(planBatches([], 1024, 64), []);
  });
});

describe("meanPoolNormalize", () => {
  test("averages the first `count` rows only, then scales to unit length", () => {
    // two real rows [3,0] and [1,0] → mean [2,0] → [1,0]; the padded row [0,100] is ignored.
    const hidden = new Float32Array([3, 0, 1, 0, 0, 100]);
    assert.deepEqual([...meanPoolNormalize(hidden, 0, 2, 2)], [1, 0]);
    const v = meanPoolNormalize(new Float32Array([3, 4]), 0, 1, 2);
    assert.ok(Math.abs(v[0]! - 0.6) < 1e-7 && Math.abs(v[1]! - 0.8) < 1e-7);
  });

  test("a zero vector stays zero instead of becoming NaN", () => {
    assert.deepEqual([...meanPoolNormalize(new Float32Array([0, 0]), 0, 1, 2)], [0, 0]);
  });
});

describe("tokenizer parity with Python (Rust tokenizers)", () => {
  test("token ids equal sentence-transformers' for every reference sentence", { skip: skipFp32 }, async () => {
    const tok = await loadBertTokenizer(modelDir);
    ref.sentences.forEach((s, i) => {
      assert.deepEqual(tok.encode(s, 256), ref.input_ids[i], `sentence ${i}: ${JSON.stringify(s)}`);
    });
  });

  test("truncates to 256 tokens with [SEP] last", { skip: skipFp32 }, async () => {
    const tok = await loadBertTokenizer(modelDir);
    const ids = tok.encode("word ".repeat(1000), 256);
    assert.equal(ids.length, 256);
    assert.equal(ids[0], 101);
    assert.equal(ids[255], 102);
  });

  test("every probed code point tokenises as in Python (Unicode tables)", { skip: skipFp32 }, async () => {
    const tok = await loadBertTokenizer(modelDir);
    const probe = ref.tokenizer_probe;
    const sampled = (cp: number) => probe.sampled.ranges.find(([lo, hi]) => cp >= lo && cp <= hi);
    const cps = new Set<number>();
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const r = sampled(cp);
      if (r === undefined || (cp - r[0]) % probe.sampled.every === 0) cps.add(cp);
    }
    for (const e of probe.edges) for (let c = e - 2; c <= e + 2; c++) if (c >= 0 && c < 0x110000) cps.add(c);
    assert.equal(cps.size, probe.count, "probe selection differs from make_reference.py");
    const blocks = new Map<number, string[]>();
    for (const cp of [...cps].sort((a, b) => a - b)) {
      const ch = String.fromCodePoint(cp);
      const ids = tok.encode(probe.template.replaceAll("{c}", ch), 1 << 20).slice(1, -1); // without [CLS]/[SEP]
      const block = Math.floor(cp / probe.block);
      let lines = blocks.get(block);
      if (lines === undefined) blocks.set(block, (lines = []));
      lines.push(`${cp}:${ids.join(",")}\n`);
    }
    const differing: string[] = [];
    for (const [block, lines] of blocks) {
      const digest = createHash("sha1").update(lines.join("")).digest("hex").slice(0, 12);
      if (digest !== probe.digests[String(block)]) {
        differing.push(`U+${(block * probe.block).toString(16).toUpperCase().padStart(4, "0")}`);
      }
    }
    assert.deepEqual(differing, [], `blocks tokenised unlike Python: ${differing.slice(0, 20).join(" ")}`);
  });
});

describe("all-MiniLM-L6-v2 fp32", () => {
  let model: EmbeddingModel;
  let vectors: Float32Array[];
  before(async () => {
    if (skipFp32) return;
    model = await loadOnnxEmbeddingModel({ dir: modelDir, variant: "fp32" });
    vectors = await model.embed(ref.sentences);
  });
  after(async () => {
    await model?.close();
  });

  test("name and dim", { skip: skipFp32 }, () => {
    assert.equal(model.name, "sentence-transformers/all-MiniLM-L6-v2");
    assert.equal(model.name, ref.model);
    assert.equal(model.dim, 384);
  });

  test("cosine ≥ 0.9999 to sentence-transformers for every reference sentence", { skip: skipFp32 }, (t) => {
    assert.equal(vectors.length, ref.sentences.length);
    let min = 1;
    vectors.forEach((v, i) => {
      const c = cosine(v, ref.vectors[i]!);
      min = Math.min(min, c);
      assert.ok(c >= 0.9999, `sentence ${i} ${JSON.stringify(ref.sentences[i]).slice(0, 60)}: cosine ${c}`);
    });
    t.diagnostic(`fp32 parity: min cosine ${min} (1 - min = ${(1 - min).toExponential(2)}) over ${vectors.length} sentences`);
  });

  test("vectors have 384 dims and unit norm", { skip: skipFp32 }, () => {
    for (const v of vectors) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, 384);
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    }
  });

  test("empty input gives empty output", { skip: skipFp32 }, async () => {
    assert.deepEqual(await model.embed([]), []);
  });

  test("order is the caller's when lengths are mixed", { skip: skipFp32 }, async () => {
    // Interleave long and short texts so the internal length sort really reorders them.
    const idx = ref.sentences.map((_, i) => i).sort((a, b) => ((a * 37) % 67) - ((b * 37) % 67));
    const shuffled = idx.map((i) => ref.sentences[i]!);
    const got = await model.embed(shuffled);
    got.forEach((v, k) => {
      assert.ok(maxAbsDiff(v, vectors[idx[k]!]!) < 1e-5, `position ${k} holds another text's vector`);
    });
  });

  test("a batch gives the same vectors as one text at a time", { skip: skipFp32 }, async () => {
    const texts = ref.sentences.filter((_, i) => i % 3 === 0);
    const batch = await model.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const [single] = await model.embed([texts[i]!]);
      assert.ok(maxAbsDiff(batch[i]!, single!) < 1e-5, `text ${i} differs between batch and single`);
    }
  });

  test("small token budgets (many sub-batches) give the same vectors", { skip: skipFp32 }, async () => {
    const tiny = await loadOnnxEmbeddingModel({ dir: modelDir, variant: "fp32", batchTokenBudget: 40, maxBatchSize: 3, threads: 1 });
    try {
      const got = await tiny.embed(ref.sentences);
      got.forEach((v, i) => assert.ok(maxAbsDiff(v, vectors[i]!) < 1e-5, `sentence ${i}`));
    } finally {
      await tiny.close();
    }
  });

  test("embed after close fails with TGLENS_NOT_READY", { skip: skipFp32 }, async () => {
    const m = await loadOnnxEmbeddingModel({ dir: modelDir, variant: "fp32", threads: 1 });
    await m.close();
    await assert.rejects(m.embed(["hello"]), (err: unknown) => isTglensError(err) && err.code === "TGLENS_NOT_READY");
  });
});

describe("all-MiniLM-L6-v2 int8", () => {
  test("mean cosine to fp32 ≥ 0.97", { skip: skipFp32 || skipInt8 }, async (t) => {
    const fp32 = await loadOnnxEmbeddingModel({ dir: modelDir, variant: "fp32" });
    const int8 = await loadOnnxEmbeddingModel({ dir: modelDir, variant: "int8" });
    try {
      const a = await fp32.embed(ref.sentences);
      const b = await int8.embed(ref.sentences);
      const cos = a.map((v, i) => cosine(v, b[i]!));
      const mean = cos.reduce((s, c) => s + c, 0) / cos.length;
      t.diagnostic(`int8 vs fp32: mean cosine ${mean.toFixed(4)}, min ${Math.min(...cos).toFixed(4)}`);
      assert.ok(mean >= 0.97, `mean cosine ${mean}`);
      for (const v of b) assert.equal(v.length, 384);
    } finally {
      await fp32.close();
      await int8.close();
    }
  });
});
