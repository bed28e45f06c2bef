/**
 * `npm run bench [-- --messages N --queries Q --mode embedded|kafka|both --json]`: on a prefix of the Ubuntu IRC corpus
 * (../shared/data/ubuntu-irc-train.json, a Telegram export). `--mode embedded` (the default) measures the model alone,
 * the end-to-end import (POST /scrape until every message is searchable), search latency p50 / p99 over Q queries
 * through the gateway, and the peak RSS of the process running the whole embedded system. `--mode kafka` measures the
 * import in distributed mode (a broker of its own on KAFKA_BENCH_PORT, default 19692, and the five services as
 * processes), with one and then two embedder processes; `--mode both` prints the two side by side.
 * Method and results: docs/performance.md ("Import bench").
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../services/common/logger.ts";
import { resolveModelDir } from "../services/embedder/model-files.ts";
import { loadOnnxEmbeddingModel } from "../services/embedder/model.ts";
import { startEmbedded } from "../services/run/embedded.ts";
import { cpuSeconds, DistributedSystem, ServiceProcess, sleep, TestBroker } from "../test/helpers/distributed.ts";
import { freePort, testConfig } from "../test/helpers/system.ts";
import { cleanedTexts, DEFAULT_CORPUS, type ExportMessage } from "./lib/corpus.ts";
import { machineLine } from "./lib/machine.ts";
import { percentile } from "./lib/stats.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    queries: { type: "string", default: "1000" },
    corpus: { type: "string", default: DEFAULT_CORPUS },
    variant: { type: "string", default: "fp32" },
    mode: { type: "string", default: "embedded" },
    json: { type: "boolean", default: false },
  },
});
const N = Number(args.messages);
const Q = Number(args.queries);
const MODE = args.mode!;
if (!["embedded", "kafka", "both"].includes(MODE)) {
  process.stderr.write(`--mode must be embedded, kafka or both, not ${JSON.stringify(MODE)}\n`);
  process.exit(2);
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
const texts = cleanedTexts(messages);

interface EmbeddedResult {
  embedSeconds: number;
  importSeconds: number;
  job: { state: string; counters: Record<string, number> };
  latencies: number[];
  peakRss: number;
}

async function runEmbedded(): Promise<EmbeddedResult> {
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
  const accepted = (await (
    await fetch(`${gateway}/api/scrape`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ export_path: "bench.json" }),
    })
  ).json()) as { job_id: string; messages: number };
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
  await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });
  return { embedSeconds, importSeconds, job, latencies, peakRss };
}

/** Prints the embedded-mode figures as the bench always has (or returns them for --json). */
function reportEmbedded(r: EmbeddedResult): Record<string, unknown> {
  const { job, latencies } = r;
  const result = {
    machine: machineLine(),
    model_variant: args.variant,
    messages: N,
    embedded_texts: texts.length,
    embed_messages_per_s: Math.round(texts.length / r.embedSeconds),
    import_state: job.state,
    import_stored: job.counters.stored,
    import_messages_per_s: Math.round(N / r.importSeconds),
    import_seconds: Number(r.importSeconds.toFixed(1)),
    search_queries: Q,
    search_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    search_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    peak_rss_mb: Math.round(r.peakRss / 2 ** 20),
  };
  if (!args.json) {
    const rows: [string, string][] = [
      ["machine", result.machine],
      ["input", `${N} messages of the Ubuntu IRC corpus (${texts.length} non-empty after cleaning), model ${args.variant}`],
      ["embedding throughput", `${result.embed_messages_per_s} messages/s`],
      [
        "end-to-end import",
        `${result.import_messages_per_s} messages/s (${result.import_seconds} s until searchable, ${job.counters.stored} stored, state ${job.state})`,
      ],
      ["search latency", `p50 ${result.search_p50_ms} ms, p99 ${result.search_p99_ms} ms over ${Q} queries (HTTP, query embedding included)`],
      ["peak RSS", `${result.peak_rss_mb} MB (the whole embedded system, during import and search)`],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
  }
  return result;
}

interface ImportRun {
  label: string;
  seconds: number;
  state: string;
  stored: number;
  /** Messages each embedder process embedded (tglens_embedded_messages_total), in distributed mode. */
  perEmbedder?: number[];
  /** CPU seconds each process used during the import (distributed mode), by process label. */
  cpu?: Record<string, number>;
}

/** POST /api/scrape of bench.json at `gateway`, timed until the job is no longer running. */
async function timedImport(gateway: string, label: string): Promise<ImportRun> {
  const t = performance.now();
  const res = await fetch(`${gateway}/api/scrape`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ export_path: "bench.json" }),
  });
  const accepted = (await res.json()) as { job_id: string };
  if (res.status !== 202) throw new Error(`${label}: POST /api/scrape answered ${res.status}: ${JSON.stringify(accepted)}`);
  let job: { state: string; counters: Record<string, number> };
  for (;;) {
    job = (await (await fetch(`${gateway}/api/jobs/${accepted.job_id}`)).json()) as typeof job;
    if (job.state !== "running") break;
    await sleep(50);
  }
  return { label, seconds: (performance.now() - t) / 1000, state: job.state, stored: job.counters.stored ?? 0 };
}

/** Distributed mode: one embedder, then two in one group, each on a fresh set of five processes. */
async function runKafka(): Promise<ImportRun[]> {
  const broker = new TestBroker(Number(process.env.KAFKA_BENCH_PORT ?? 19692));
  const env = { TGLENS_LOG_LEVEL: "warn", TGLENS_MODEL_VARIANT: args.variant! };
  const runs: ImportRun[] = [];
  const log = (line: string) => process.stderr.write(`# ${line}\n`);
  log(`starting a Kafka broker on 127.0.0.1:${broker.port}`);
  await broker.startFresh();
  try {
    for (const embedders of [1, 2]) {
      log(`starting the five services as processes${embedders > 1 ? ` and ${embedders - 1} more embedder` : ""}`);
      const sys = await DistributedSystem.start(broker.brokers, env);
      const extra: ServiceProcess[] = [];
      try {
        for (let i = 1; i < embedders; i++) {
          const port = await freePort();
          const p = new ServiceProcess(
            "embedder",
            { ...sys.env, TGLENS_EMBEDDER_PORT: String(port) },
            port,
            path.join(sys.root, "logs", `embedder-${i + 1}.log`),
          );
          extra.push(p);
          await p.waitReady();
        }
        // Let the group rebalance embed-topic's partitions over its members before the clock starts.
        if (embedders > 1) await sleep(5_000);
        await fs.copyFile(prefixFile, path.join(sys.importDir, "bench.json"));
        const label = embedders === 1 ? "kafka, 1 embedder" : `kafka, ${embedders} embedders`;
        log(`importing ${N} messages (${label})`);
        // Where the CPU goes on a small machine: every process's CPU time across the import.
        const pids: [string, number][] = [
          ["broker", await broker.pid()],
          ...[...sys.procs.values()].map((p): [string, number] => [p.name, p.pid]),
          ...extra.map((p, i): [string, number] => [`embedder-${i + 2}`, p.pid]),
        ];
        const before = await Promise.all(pids.map(([, pid]) => cpuSeconds(pid)));
        const run = await timedImport(sys.gateway, label);
        const after = await Promise.all(pids.map(([, pid]) => cpuSeconds(pid)));
        run.cpu = Object.fromEntries(pids.map(([name], i) => [name, Number((after[i]! - before[i]!).toFixed(1))]));
        run.perEmbedder = await Promise.all([sys.proc("embedder"), ...extra].map((p) => p.metric("tglens_embedded_messages_total").catch(() => NaN)));
        runs.push(run);
      } finally {
        await Promise.all(extra.filter((p) => p.running).map((p) => p.term()));
        await sys.close();
      }
    }
  } finally {
    await broker.stop();
  }
  return runs;
}

const embedded = MODE === "kafka" ? undefined : await runEmbedded();
const embeddedResult = embedded ? reportEmbedded(embedded) : undefined;
const kafkaRuns = MODE === "embedded" ? [] : await runKafka();
await fs.rm(prefixFile, { force: true });

if (kafkaRuns.length > 0) {
  const rows: ImportRun[] = [
    ...(embedded
      ? [{ label: "embedded", seconds: embedded.importSeconds, state: embedded.job.state, stored: embedded.job.counters.stored ?? 0 }]
      : []),
    ...kafkaRuns,
  ];
  const baseline = rows[0]!;
  const rate = (r: ImportRun) => N / r.seconds;
  if (args.json) {
    process.stdout.write(
      JSON.stringify(
        {
          ...(embeddedResult ? { embedded: embeddedResult } : {}),
          import_modes: rows.map((r) => ({
            mode: r.label,
            seconds: Number(r.seconds.toFixed(1)),
            messages_per_s: Math.round(rate(r)),
            ratio: Number((rate(r) / rate(baseline)).toFixed(2)),
            stored: r.stored,
            state: r.state,
            ...(r.perEmbedder ? { embedded_per_embedder: r.perEmbedder } : {}),
            ...(r.cpu ? { cpu_seconds: r.cpu } : {}),
          })),
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    process.stdout.write(
      `\nimport of ${N} messages through the gateway until the job is done, model ${args.variant} (ratio to ${baseline.label}):\n`,
    );
    process.stdout.write(
      `${"mode".padEnd(22)} ${"seconds".padStart(8)} ${"messages/s".padStart(11)} ${"ratio".padStart(6)}  ` +
        "stored / state / embedded per embedder process\n",
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.label.padEnd(22)} ${r.seconds.toFixed(1).padStart(8)} ${String(Math.round(rate(r))).padStart(11)} ` +
          `${(rate(r) / rate(baseline)).toFixed(2).padStart(6)}  ${r.stored} / ${r.state}` +
          `${r.perEmbedder ? ` / ${r.perEmbedder.join(" + ")}` : ""}\n`,
      );
    }
    for (const r of rows) {
      if (!r.cpu) continue;
      const parts = Object.entries(r.cpu).map(([name, s]) => `${name} ${s}`);
      process.stdout.write(`CPU seconds during "${r.label}": ${parts.join(", ")} (of ${(r.seconds * os.cpus().length).toFixed(0)} available)\n`);
    }
  }
} else if (args.json && embeddedResult) {
  process.stdout.write(JSON.stringify(embeddedResult, null, 2) + "\n");
}
