/**
 * `npm run bench [-- --messages N --queries Q --json]`: on a prefix of the Ubuntu IRC corpus
 * (../shared/data/ubuntu-irc-train.json, a Telegram export), measures
 *   1. bare embedding throughput (the model alone, messages/s),
 *   2. end-to-end import throughput in embedded mode (POST /scrape until every message is searchable),
 *   3. search latency p50/p99 over Q queries through the gateway (query embedding included),
 *   4. peak RSS of this process (which runs the whole embedded system).
 * A benchmark, not a test: it prints figures and asserts nothing.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../services/common/logger.ts";
import { resolveModelDir } from "../services/embedder/model-files.ts";
import { loadOnnxEmbeddingModel } from "../services/embedder/model.ts";
import { preprocess } from "../services/preprocessor/clean.ts";
import { startEmbedded } from "../services/embedded.ts";
import { testConfig } from "../test/helpers/system.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    queries: { type: "string", default: "1000" },
    corpus: { type: "string", default: "../shared/data/ubuntu-irc-train.json" },
    variant: { type: "string", default: "fp32" },
    json: { type: "boolean", default: false },
  },
});
const N = Number(args.messages);
const Q = Number(args.queries);

interface ExportMessage {
  id: number;
  type: string;
  text: string | { text: string }[] | unknown;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// The prefix is cut in a child process so that parsing the 73 MB corpus does not count in this
// process's memory figures.
const prefixFile = path.join(os.tmpdir(), `tglens-bench-${process.pid}.json`);
execFileSync(process.execPath, [
  "-e",
  `const fs = require("node:fs");
   const [src, dst, n] = process.argv.slice(1);
   const corpus = JSON.parse(fs.readFileSync(src, "utf8"));
   corpus.messages = corpus.messages.slice(0, Number(n));
   fs.writeFileSync(dst, JSON.stringify(corpus));`,
  path.resolve(args.corpus),
  prefixFile,
  String(N),
]);
const messages = (JSON.parse(await fs.readFile(prefixFile, "utf8")) as { messages: ExportMessage[] }).messages;
const texts = messages.map((m) => (typeof m.text === "string" ? m.text : "")).map((t) => preprocess(t)?.clean_text).filter((t): t is string => !!t);

// 1. The model alone.
const dir = await resolveModelDir({ cacheDir: path.resolve(".cache/models"), allowRemote: true, variant: args.variant as "fp32" | "int8" });
const model = await loadOnnxEmbeddingModel({ dir, variant: args.variant as "fp32" | "int8" });
await model.embed(texts.slice(0, 256));
let t0 = performance.now();
for (let i = 0; i < texts.length; i += 256) await model.embed(texts.slice(i, i + 256));
const embedSeconds = (performance.now() - t0) / 1000;
await model.close();

// 2. The whole pipeline, embedded mode.
const config = await testConfig({ TGLENS_LOG_LEVEL: "warn", TGLENS_MODEL_VARIANT: args.variant! });
await fs.copyFile(prefixFile, path.join(config.importDir, "bench.json"));
let peakRss = process.memoryUsage.rss();
const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
const system = await startEmbedded(config, createLogger({ level: "warn" }));
const gateway = config.urls["telegram-bot"];
t0 = performance.now();
const accepted = (await (await fetch(`${gateway}/api/scrape`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ export_path: "bench.json" }) })).json()) as { job_id: string; messages: number };
let job: { state: string; counters: Record<string, number> };
for (;;) {
  job = (await (await fetch(`${gateway}/api/jobs/${accepted.job_id}`)).json()) as typeof job;
  if (job.state !== "running") break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const importSeconds = (performance.now() - t0) / 1000;

// 3. Search latency through the gateway.
const latencies: number[] = [];
for (let i = 0; i < Q; i++) {
  const q = texts[(i * 7919) % texts.length]!;
  const s = performance.now();
  const res = await fetch(`${gateway}/api/search?${new URLSearchParams({ q: q.slice(0, 200), k: "10" })}`);
  await res.json();
  latencies.push(performance.now() - s);
}
latencies.sort((a, b) => a - b);
await system.close();
clearInterval(rssSampler);
await fs.rm(prefixFile, { force: true });
await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });

const result = {
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  model_variant: args.variant,
  messages: N,
  embedded_texts: texts.length,
  embed_messages_per_s: Math.round(texts.length / embedSeconds),
  import_state: job.state,
  import_stored: job.counters.stored,
  import_messages_per_s: Math.round(N / importSeconds),
  import_seconds: Number(importSeconds.toFixed(1)),
  search_queries: Q,
  search_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
  search_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
  peak_rss_mb: Math.round(peakRss / 2 ** 20),
};
if (args.json) {
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} else {
  const rows: [string, string][] = [
    ["machine", result.machine],
    ["input", `${N} messages of the Ubuntu IRC corpus (${texts.length} non-empty after cleaning), model ${args.variant}`],
    ["embedding throughput", `${result.embed_messages_per_s} messages/s`],
    ["end-to-end import", `${result.import_messages_per_s} messages/s (${result.import_seconds} s until searchable, ${job.counters.stored} stored, state ${job.state})`],
    ["search latency", `p50 ${result.search_p50_ms} ms, p99 ${result.search_p99_ms} ms over ${Q} queries (HTTP, query embedding included)`],
    ["peak RSS", `${result.peak_rss_mb} MB (the whole embedded system, during import and search)`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
}
