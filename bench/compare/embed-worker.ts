/**
 * One embedding measurement of `npm run bench:compare`, in a process of its own so that its peak RSS is the model's
 * and nothing else's:
 *
 *   embed-worker.ts --texts FILE.jsonl --variant fp32|int8 --threads T [--batch 256] [--out FILE.f32] [--progress LABEL]
 *
 * Loads the model the embedder service runs on its worker thread (loadOnnxEmbeddingModel, T intra-op threads), here on
 * the main thread, embeds one batch untimed, then every text in batches of `--batch` through model.embed. Only those
 * calls are timed; `--out` gets the vectors (raw float32 rows, in text order), `--progress` logs the rate and an ETA to
 * stderr every 15 s. Prints {variant, threads, texts, batch_size, seconds, messages_per_s, peak_rss_mb} on stdout.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveModelDir, type ModelVariant } from "../../services/embedder/model-files.ts";
import { loadOnnxEmbeddingModel } from "../../services/embedder/model.ts";
import { peakRssBytes } from "../lib/stats.ts";
import { writeRows } from "../lib/vectors.ts";

const { values: args } = parseArgs({
  options: {
    texts: { type: "string" },
    variant: { type: "string", default: "fp32" },
    threads: { type: "string" },
    batch: { type: "string", default: "256" },
    out: { type: "string" },
    progress: { type: "string" },
  },
});
const variant = args.variant as ModelVariant;
if (variant !== "fp32" && variant !== "int8") throw new Error(`--variant must be fp32 or int8, not ${args.variant}`);
if (!args.texts) throw new Error("--texts FILE.jsonl is required");
const threads = args.threads ? Number(args.threads) : undefined;
const B = Number(args.batch);

const texts = readFileSync(args.texts, "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as string);

const dir = await resolveModelDir({
  modelDir: process.env["TGLENS_MODEL_DIR"],
  cacheDir: join(import.meta.dirname, "../../.cache/models"),
  allowRemote: true,
  variant,
});
const model = await loadOnnxEmbeddingModel({ dir, variant, threads });
await model.embed(texts.slice(0, B));

const out = args.out ? openSync(args.out, "w") : undefined;
let seconds = 0;
let lastLog = performance.now();
for (let i = 0; i < texts.length; i += B) {
  const t = performance.now();
  const vectors = await model.embed(texts.slice(i, i + B));
  seconds += (performance.now() - t) / 1000;
  if (out !== undefined) writeRows(out, vectors);
  const done = Math.min(texts.length, i + B);
  if (args.progress && (performance.now() - lastLog > 15_000 || done === texts.length)) {
    lastLog = performance.now();
    const rate = done / seconds;
    const eta = (texts.length - done) / rate;
    process.stderr.write(
      `# ${args.progress}: ${done.toLocaleString("en")} / ${texts.length.toLocaleString("en")} embedded, ` +
        `${Math.round(rate)} messages/s, ETA ${eta >= 90 ? `${Math.round(eta / 60)} min` : `${Math.round(eta)} s`}\n`,
    );
  }
}
if (out !== undefined) closeSync(out);
await model.close();

process.stdout.write(
  JSON.stringify({
    variant,
    threads: threads ?? null,
    texts: texts.length,
    batch_size: B,
    seconds: Number(seconds.toFixed(3)),
    messages_per_s: Number((texts.length / seconds).toFixed(1)),
    peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
  }) + "\n",
);
