/**
 * `npm run bench:search-import [-- options]`: is search still fast while an import keeps the model busy? Imports a
 * prefix of the Ubuntu IRC corpus in embedded mode with the real model, alone and then with searches through the
 * gateway beside it, and reports search p50 / p99 during the import and idle, and the throughput the searches cost.
 * Target: p99 under 250 ms during the import at a loss under 10%. Method and results: docs/performance.md.
 *
 * Options:
 *   --messages N     messages of the corpus per import (default 20000)
 *   --imports K      concurrent imports, each a copy of the prefix as its own chat (default 1)
 *   --pause-ms P     pause between two searches (default 200: a person searching again and again)
 *   --idle-queries Q searches on the idle system after the import (default 200)
 *   --rounds R       rounds of (alone, with searches) (default 1)
 *   --variant V      fp32 | int8 (default fp32)
 *   --corpus PATH    a Telegram Desktop export (default ../shared/data/ubuntu-irc-train.json)
 *   --json-out PATH  default bench/results/search-during-import-<UTC timestamp>.json
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../services/common/logger.ts";
import { startEmbedded } from "../services/run/embedded.ts";
import { testConfig } from "../test/helpers/system.ts";
import { runNodeJson } from "./lib/child.ts";
import { cleanedTexts, DEFAULT_CORPUS, type ExportMessage } from "./lib/corpus.ts";
import { machineInfo, machineLine, packageVersion } from "./lib/machine.ts";
import { percentile } from "./lib/stats.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    imports: { type: "string", default: "1" },
    "pause-ms": { type: "string", default: "200" },
    "idle-queries": { type: "string", default: "200" },
    rounds: { type: "string", default: "1" },
    variant: { type: "string", default: "fp32" },
    corpus: { type: "string", default: DEFAULT_CORPUS },
    "json-out": { type: "string" },
    // Internal: run one phase and print its result as JSON.
    phase: { type: "string" },
    prefix: { type: "string" },
  },
});

interface PhaseResult {
  phase: "alone" | "searches";
  messages: number;
  imports: number;
  import_seconds: number;
  import_messages_per_s: number;
  stored: number;
  states: string[];
  /** Client-side latency of each search that started and ended while the import ran, ms. */
  search_ms: number[];
  search_errors: number;
  idle_search_ms: number[];
  load_before: number[];
  load_after: number[];
  cpu_seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (x: number) => Number(x.toFixed(1));

/** One search through the gateway; its latency in ms, or undefined when it did not answer 200. */
async function search(gateway: string, q: string): Promise<number | undefined> {
  const t = performance.now();
  const res = await fetch(`${gateway}/api/search?${new URLSearchParams({ q: q.slice(0, 200), k: "10" })}`);
  await res.arrayBuffer();
  return res.status === 200 ? performance.now() - t : undefined;
}

async function runPhase(phase: PhaseResult["phase"], prefixFile: string): Promise<PhaseResult> {
  const imports = Number(args.imports);
  const pauseMs = Number(args["pause-ms"]);
  const prefix = JSON.parse(await fs.readFile(prefixFile, "utf8")) as { id: number; messages: ExportMessage[] };
  const queries = cleanedTexts(prefix.messages);
  const config = await testConfig({ TGLENS_LOG_LEVEL: "warn", TGLENS_MODEL_VARIANT: args.variant! });
  // K copies of the prefix, each its own chat.
  for (let k = 0; k < imports; k++) {
    await fs.writeFile(path.join(config.importDir, `bench-${k}.json`), JSON.stringify({ ...prefix, id: prefix.id + k }));
  }
  const system = await startEmbedded(config, createLogger({ level: "warn" }));
  const gateway = config.urls["telegram-bot"];
  try {
    // Warm the query path (first search compiles routes, loads the model's first call).
    await search(gateway, "warm up");
    const load_before = os.loadavg();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const jobs: string[] = [];
    for (let k = 0; k < imports; k++) {
      const res = await fetch(`${gateway}/api/scrape`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ export_path: `bench-${k}.json` }),
      });
      const body = (await res.json()) as { job_id: string };
      if (res.status !== 202) throw new Error(`POST /api/scrape answered ${res.status}: ${JSON.stringify(body)}`);
      jobs.push(body.job_id);
    }
    let running = true;
    const search_ms: number[] = [];
    let search_errors = 0;
    const searcher = (async () => {
      if (phase !== "searches") return;
      for (let i = 0; running; i++) {
        const ms = await search(gateway, queries[(i * 7919) % queries.length]!);
        if (!running) break; // ended after the import: not a search during it
        if (ms === undefined) search_errors++;
        else search_ms.push(ms);
        await sleep(pauseMs);
      }
    })();
    const final: { state: string; counters: Record<string, number> }[] = [];
    for (const id of jobs) {
      for (;;) {
        const job = (await (await fetch(`${gateway}/api/jobs/${id}`)).json()) as { state: string; counters: Record<string, number> };
        if (job.state !== "running") {
          final.push(job);
          break;
        }
        await sleep(50);
      }
    }
    const import_seconds = (performance.now() - t0) / 1000;
    running = false;
    await searcher;
    const cpu = process.cpuUsage(cpu0);
    const load_after = os.loadavg();
    const idle_search_ms: number[] = [];
    if (phase === "searches") {
      for (let i = 0; i < Number(args["idle-queries"]); i++) {
        const ms = await search(gateway, queries[(i * 104729) % queries.length]!);
        if (ms !== undefined) idle_search_ms.push(ms);
      }
    }
    const messages = prefix.messages.length * imports;
    return {
      phase,
      messages,
      imports,
      import_seconds: Number(import_seconds.toFixed(2)),
      import_messages_per_s: Math.round(messages / import_seconds),
      stored: final.reduce((s, j) => s + (j.counters.stored ?? 0), 0),
      states: final.map((j) => j.state),
      search_ms: search_ms.map(round1),
      search_errors,
      idle_search_ms: idle_search_ms.map(round1),
      load_before: load_before.map((x) => Number(x.toFixed(2))),
      load_after: load_after.map((x) => Number(x.toFixed(2))),
      cpu_seconds: round1((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    await system.close();
    await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });
  }
}

if (args.phase) {
  const result = await runPhase(args.phase as PhaseResult["phase"], args.prefix!);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

// The parent: cut the prefix once, run the phases in children, report.
const startedAt = new Date();
const N = Number(args.messages);
const corpus = JSON.parse(await fs.readFile(path.resolve(args.corpus!), "utf8")) as { messages: ExportMessage[] };
const prefixFile = path.join(os.tmpdir(), `tglens-search-import-${process.pid}.json`);
await fs.writeFile(prefixFile, JSON.stringify({ ...corpus, messages: corpus.messages.slice(0, N) }));
const script = import.meta.filename;
const forward = [
  "--messages",
  String(N),
  "--imports",
  args.imports!,
  "--pause-ms",
  args["pause-ms"]!,
  "--idle-queries",
  args["idle-queries"]!,
  "--variant",
  args.variant!,
];
const log = (line: string) => process.stderr.write(`# ${line}\n`);

const phases: PhaseResult[] = [];
try {
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const phase of ["alone", "searches"] as const) {
      log(
        `round ${r + 1}: import of ${N} × ${args.imports} messages, ` +
          `${phase === "alone" ? "no searches" : `searching every ${args["pause-ms"]} ms`} (load ${os.loadavg()[0]!.toFixed(2)})`,
      );
      phases.push({
        ...(await runNodeJson<PhaseResult>(script, [...forward, "--phase", phase, "--prefix", prefixFile], { cwd: ROOT })),
        round: r + 1,
      } as PhaseResult);
    }
  }
} finally {
  await fs.rm(prefixFile, { force: true });
}

const pct = (v: number[], p: number) => (v.length ? round1(percentile(v, p)) : NaN);
const rounds = Array.from({ length: Number(args.rounds) }, (_, r) => {
  const [alone, withSearch] = [phases[2 * r]!, phases[2 * r + 1]!];
  return {
    round: r + 1,
    import_alone_messages_per_s: alone.import_messages_per_s,
    import_with_searches_messages_per_s: withSearch.import_messages_per_s,
    throughput_loss: Number((1 - withSearch.import_messages_per_s / alone.import_messages_per_s).toFixed(3)),
    searches: withSearch.search_ms.length,
    search_errors: withSearch.search_errors,
    search_p50_ms: pct(withSearch.search_ms, 50),
    search_p99_ms: pct(withSearch.search_ms, 99),
    search_max_ms: withSearch.search_ms.length ? Math.max(...withSearch.search_ms) : NaN,
    idle_search_p50_ms: pct(withSearch.idle_search_ms, 50),
    idle_search_p99_ms: pct(withSearch.idle_search_ms, 99),
    stored: [alone.stored, withSearch.stored],
    load_1min: [alone.load_before[0], alone.load_after[0], withSearch.load_before[0], withSearch.load_after[0]],
  };
});

const result = {
  bench: "tglens bench:search-import",
  started_at: startedAt.toISOString(),
  finished_at: new Date().toISOString(),
  options: {
    messages: N,
    imports: Number(args.imports),
    pause_ms: Number(args["pause-ms"]),
    idle_queries: Number(args["idle-queries"]),
    rounds: Number(args.rounds),
    variant: args.variant,
    corpus: path.resolve(args.corpus!),
  },
  machine: { ...machineInfo(), versions: { "onnxruntime-node": packageVersion("onnxruntime-node"), usearch: packageVersion("usearch") } },
  targets: { search_p99_ms: 250, throughput_loss: 0.1 },
  rounds,
  phases,
};
const jsonOut = path.resolve(
  args["json-out"] ??
    path.join(
      ROOT,
      "bench/results",
      `search-during-import-${startedAt
        .toISOString()
        .replace(/:/g, "-")
        .replace(/\.\d+Z$/, "Z")}.json`,
    ),
);
await fs.mkdir(path.dirname(jsonOut), { recursive: true });
await fs.writeFile(jsonOut, JSON.stringify(result, null, 2) + "\n");

process.stdout.write(
  `machine: ${machineLine()}; ${N} messages × ${args.imports} concurrent import(s), model ${args.variant}, a search every ${args["pause-ms"]} ms\n`,
);
process.stdout.write(
  `${"round".padEnd(6)} ${"alone msg/s".padStart(12)} ${"with msg/s".padStart(11)} ${"loss".padStart(6)} ${"searches".padStart(9)} ` +
    `${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"idle p50/p99".padStart(14)}  ` +
    "load 1-min (alone: start→end, with: start→end)\n",
);
for (const r of rounds) {
  process.stdout.write(
    `${String(r.round).padEnd(6)} ${String(r.import_alone_messages_per_s).padStart(12)} ` +
      `${String(r.import_with_searches_messages_per_s).padStart(11)} ${`${(r.throughput_loss * 100).toFixed(1)}%`.padStart(6)} ` +
      `${String(r.searches).padStart(9)} ${String(r.search_p50_ms).padStart(8)} ${String(r.search_p99_ms).padStart(8)} ` +
      `${String(r.search_max_ms).padStart(8)} ${`${r.idle_search_p50_ms}/${r.idle_search_p99_ms}`.padStart(14)}  ${r.load_1min.join(" ")}\n`,
  );
}
process.stdout.write(`raw results: ${path.relative(process.cwd(), jsonOut)}\n`);
