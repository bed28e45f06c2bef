/**
 * `npm run fuzz`: the hostile-input suite. Starts a real embedded tglens (temp data directory, free ports, the real
 * model), imports the demo chat, then runs phase by phase: schemathesis against every service's /openapi.json, against
 * the gateway's /api routes, against the upload routes with export bodies (specs.ts), and the hand-made cases
 * (cases.ts). After each phase it waits for jobs to end and compares a snapshot of the data (snapshot.ts) with the one
 * before: a change no successful request asked for, a 5xx, an error body not in the one shape, a job that never ends or
 * a failed integrity check fails the run (exit status 1). The rules in full: docs/performance.md ("Hostile input").
 *
 *   npm run fuzz [-- --examples 20 --seed 1 --only storage,cases --keep]
 *
 * --only takes phase names: gateway, scraper, preprocessor, embedder, storage, gateway-api, scraper-upload, cases.
 * Reports go to .cache/fuzz/<time>/ (the last few runs kept); HAR files over MAX_KEPT_HAR_BYTES are dropped once read
 * unless --keep, which also keeps the temp data directory.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { destination } from "pino";
import { GatewayClient } from "../../cli/client.ts";
import { DEMO_EXPORT } from "../../cli/demo.ts";
import type { ServiceName } from "../../services/common/config.ts";
import { createLogger } from "../../services/common/logger.ts";
import { startEmbedded } from "../../services/run/embedded.ts";
import { testConfig } from "../../test/helpers/system.ts";
import { CASES, exportOf, type CaseContext } from "./cases.ts";
import { addRoutes, curlOf, errorShapeProblem, json, routeOf, send, type Exchange, type RouteTable, type Urls } from "./exchange.ts";
import { runSchemathesis, type StRun } from "./schemathesis.ts";
import { chatOfFile, diffSnapshots, takeSnapshot, type Change, type Snapshot } from "./snapshot.ts";
import { gatewayApiSpec, uploadSpec } from "./specs.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REPORTS = path.join(ROOT, ".cache", "fuzz");
/** Reports of earlier runs kept beside this one's. */
const KEPT_RUNS = 4;
const MAX_KEPT_HAR_BYTES = 20 * 1024 * 1024;
const JOB_DEADLINE_MS = 30_000;
const FINISHED = new Set(["done", "partial", "failed"]);

const { values: args } = parseArgs({
  options: {
    examples: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    only: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const maxExamples = Number(args.examples);
const seed = Number(args.seed);
if (!Number.isInteger(maxExamples) || maxExamples < 1 || !Number.isInteger(seed)) {
  console.error("fuzz: --examples must be a whole number ≥ 1 and --seed a whole number");
  process.exit(2);
}
const only = args.only ? new Set(args.only.split(",").map((s) => s.trim())) : undefined;

type Kind = "5xx" | "no answer" | "error body" | "data change" | "integrity" | "job never ends" | "case" | "schemathesis" | "crash";
interface Failure {
  phase: string;
  kind: Kind;
  detail: string;
  route?: string;
  exchange?: Exchange;
  repro?: string;
}
interface PhaseResult {
  name: string;
  exchanges: Exchange[];
  ms: number;
  legitChanges: number;
  integrity: string;
  errorsLogged: string[];
  serverSide5xx: string[];
}

const failures: Failure[] = [];
const phases: PhaseResult[] = [];
const routes: RouteTable = new Map();
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const reportDir = path.join(REPORTS, stamp);
await fs.mkdir(reportDir, { recursive: true });
for (const old of (await fs.readdir(REPORTS))
  .filter((d) => d !== stamp)
  .sort()
  .slice(0, -KEPT_RUNS))
  await fs.rm(path.join(REPORTS, old), { recursive: true, force: true });

process.on("uncaughtException", (err) =>
  failures.push({ phase: "(process)", kind: "crash", detail: `uncaught exception: ${err.stack ?? err.message}` }),
);
process.on("unhandledRejection", (err) =>
  failures.push({ phase: "(process)", kind: "crash", detail: `unhandled rejection: ${(err as Error)?.stack ?? String(err)}` }),
);

function say(line: string): void {
  process.stderr.write(`[fuzz] ${line}\n`);
}

// --- schemathesis, in its own venv -------------------------------------------------------------
const setup = spawnSync("python3", [path.join(ROOT, "scripts/fuzz/setup.py")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (setup.status !== 0) {
  console.error("fuzz: could not prepare schemathesis (scripts/fuzz/setup.py failed; see above)");
  process.exit(2);
}
say(setup.stdout.trim());
const ST = path.join(ROOT, ".cache", "fuzz-venv", "bin", "st");
const stVersion = /^schemathesis==(\S+)/m.exec(await fs.readFile(path.join(ROOT, "scripts/fuzz/requirements.txt"), "utf8"))?.[1] ?? "?";

// --- a real tglens -------------------------------------------------------------------------------
const started = Date.now();
const config = await testConfig({ TGLENS_LOG_LEVEL: "warn" });
const logFile = path.join(reportDir, "server.log");
const system = await startEmbedded(config, createLogger({ level: "warn", destination: destination({ dest: logFile, sync: true }) }));
const urls: Urls = config.urls;
const dataDir = config.dataDir;
say(`tglens is running on ${urls["telegram-bot"]} (data in ${dataDir}); reports in ${path.relative(ROOT, reportDir)}`);

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const client = new GatewayClient(urls["telegram-bot"]);
const demo = await client.importFile(DEMO_EXPORT);
const demoJob = await withDeadline(
  client.waitForJob(demo.job_id, () => {}),
  120_000,
  "importing the demo chat",
);
const demoChatId = demo.chats[0]!.id;
say(`demo chat ${demoChatId} imported: ${demoJob.state}, ${demoJob.counters.stored} messages`);
// A small export under TGLENS_IMPORT_DIR, for the `export_path` bodies of the upload runs.
await fs.writeFile(path.join(config.importDir, "fuzz-small.json"), exportOf(7_000_000_001, "Import by path", [{ id: 1, text: "imported by path" }]));

// --- the checks shared by every phase ------------------------------------------------------------
const reportedJobs = new Set<string>();

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return res.json();
}

async function waitJob(jobId: string): Promise<{ job: any; problem?: string }> {
  const deadline = Date.now() + JOB_DEADLINE_MS;
  for (;;) {
    const job = await getJson(`${urls.scraper}/jobs/${encodeURIComponent(jobId)}`).catch(() => undefined);
    if (job && FINISHED.has(job.state))
      return job.state === "done" ? { job } : { job, problem: `job ${jobId} ended ${job.state}: ${JSON.stringify(job.error ?? job.counters)}` };
    if (Date.now() > deadline) {
      reportedJobs.add(jobId);
      return {
        job,
        problem:
          `job ${jobId} still ${job?.state ?? "unknown"} after ${JOB_DEADLINE_MS / 1000} s: ` +
          `${JSON.stringify(job?.counters)} ${job?.error ? JSON.stringify(job.error) : ""}`,
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits for every job to end; reports (once) each that does not within the deadline. */
async function settleJobs(phase: string): Promise<void> {
  const deadline = Date.now() + JOB_DEADLINE_MS;
  for (;;) {
    const { jobs } = (await getJson(`${urls.scraper}/jobs`).catch(() => ({ jobs: [] }))) as { jobs: any[] };
    const open = jobs.filter((j) => !FINISHED.has(j.state) && !reportedJobs.has(j.job_id));
    if (open.length === 0) return;
    if (Date.now() > deadline) {
      for (const j of open) {
        reportedJobs.add(j.job_id);
        failures.push({
          phase,
          kind: "job never ends",
          detail: `job ${j.job_id} (${j.source}) still ${j.state} after ${JOB_DEADLINE_MS / 1000} s: ${JSON.stringify(j.counters)}`,
        });
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** 5xx counts each service's own /metrics shows, by route (they include internal calls). */
async function serverSide5xx(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [service, url] of Object.entries(urls)) {
    const text = await fetch(`${url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    for (const line of text.split("\n")) {
      const m = /^tglens_http_requests_total\{(.*)\} (\d+)/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (Number(labels.status) >= 500) out.set(`${service} ${labels.method} ${labels.route} ${labels.status}`, Number(m[2]));
    }
  }
  return out;
}

let logOffset = 0;
async function newErrorLogLines(): Promise<string[]> {
  const text = await fs.readFile(logFile, "utf8").catch(() => "");
  const fresh = text.slice(logOffset);
  logOffset = text.length;
  const out: string[] = [];
  for (const line of fresh.split("\n")) {
    try {
      const entry = JSON.parse(line) as { level: number; msg: string; err?: { message?: string; stack?: string } };
      if (entry.level < 50) continue;
      const where = entry.err?.stack
        ?.split("\n")
        .find((l) => l.includes("/services/"))
        ?.trim();
      out.push(`${entry.msg}${entry.err?.message && entry.err.message !== entry.msg ? `: ${entry.err.message}` : ""}${where ? ` (${where})` : ""}`);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Chats that the successful state-changing requests among `exchanges` asked to change. */
function chatsAskedFor(exchanges: Exchange[]): Set<string> {
  const out = new Set<string>();
  for (const ex of exchanges) {
    if (ex.status < 200 || ex.status >= 300) continue;
    const p = ex.target.split("?")[0] ?? "";
    const del = /^\/(?:api\/)?chats\/([^/]+)$/.exec(p);
    if (ex.method === "DELETE" && del) out.add(decodeURIComponent(del[1]!));
    if (ex.method === "POST" && /^\/(?:api\/)?store$/.test(p)) {
      try {
        for (const m of JSON.parse(ex.body?.toString("utf8") ?? "").messages ?? []) if (m?.chat?.id !== undefined) out.add(String(m.chat.id));
      } catch {
        // a 2xx for a body that is not JSON: nothing it could legitimately have asked for
      }
    }
    if (ex.method === "POST" && /^\/(?:api\/)?scrape$/.test(p)) for (const c of json(ex)?.chats ?? []) out.add(String(c.id));
  }
  return out;
}

function checkExchanges(phase: string, exchanges: Exchange[]): void {
  for (const ex of exchanges) {
    const route = routeOf(routes, ex);
    if (ex.status === 0) failures.push({ phase, kind: "no answer", route, detail: ex.error ?? "no answer", exchange: ex });
    else if (ex.status >= 500) failures.push({ phase, kind: "5xx", route, detail: `${ex.status} ${ex.response.slice(0, 200)}`, exchange: ex });
    else {
      const shape = errorShapeProblem(ex);
      if (shape) failures.push({ phase, kind: "error body", route, detail: shape, exchange: ex });
    }
  }
}

function checkChanges(phase: string, changes: Change[], allowed: Set<string>): number {
  let legit = 0;
  for (const c of changes) {
    const chat = c.kind === "chat" ? c.key : chatOfFile(c.key);
    if (chat !== undefined && allowed.has(chat)) {
      legit++;
      continue;
    }
    failures.push({
      phase,
      kind: "data change",
      detail: `${c.kind} ${c.key}: ${c.before} → ${c.after}${chat === undefined ? "" : " (no successful request asked for it)"}`,
    });
  }
  return legit;
}

let before: Snapshot = await takeSnapshot(dataDir);
let metricsBefore = await serverSide5xx();
await newErrorLogLines();

/** Runs one phase and every check after it. `allowed` adds chats the phase declares it may change. */
async function phase(name: string, body: (exchanges: Exchange[]) => Promise<Set<string> | void>): Promise<void> {
  const t0 = Date.now();
  const exchanges: Exchange[] = [];
  say(`phase ${name} ...`);
  let declared: Set<string> | void = undefined;
  try {
    declared = await body(exchanges);
  } catch (err) {
    failures.push({ phase: name, kind: "crash", detail: `the phase itself failed: ${(err as Error).stack ?? err}` });
  }
  await settleJobs(name);
  const after = await takeSnapshot(dataDir);
  checkExchanges(name, exchanges);
  const allowed = new Set([...chatsAskedFor(exchanges), ...(declared ?? [])]);
  const legitChanges = checkChanges(name, diffSnapshots(before, after), allowed);
  if (after.integrity !== "ok") failures.push({ phase: name, kind: "integrity", detail: `PRAGMA integrity_check: ${after.integrity}` });
  const metricsAfter = await serverSide5xx();
  const serverSide = [...metricsAfter]
    .filter(([k, v]) => v > (metricsBefore.get(k) ?? 0))
    .map(([k, v]) => `${k} ×${v - (metricsBefore.get(k) ?? 0)}`);
  const errorsLogged = await newErrorLogLines();
  before = after;
  metricsBefore = metricsAfter;
  phases.push({ name, exchanges, ms: Date.now() - t0, legitChanges, integrity: after.integrity, errorsLogged, serverSide5xx: serverSide });
}

// --- the phases ----------------------------------------------------------------------------------
const specs = Object.fromEntries(await Promise.all(Object.entries(urls).map(async ([s, u]) => [s, await getJson(`${u}/openapi.json`)]))) as Record<
  ServiceName,
  any
>;
for (const [s, spec] of Object.entries(specs)) addRoutes(routes, s as ServiceName, spec);
const gatewayApi = gatewayApiSpec(specs["telegram-bot"], specs.storage, specs.scraper);
addRoutes(routes, "telegram-bot", gatewayApi);
const files = {
  gatewayApi: path.join(reportDir, "gateway-api.openapi.json"),
  scraperUpload: path.join(reportDir, "scraper-upload.openapi.json"),
};
await fs.writeFile(files.gatewayApi, JSON.stringify(gatewayApi, null, 1));
await fs.writeFile(files.scraperUpload, JSON.stringify(uploadSpec(specs.scraper, "/scrape"), null, 1));

const RANDOM = ["examples", "coverage", "fuzzing"];
// The stateful phase follows links from responses into path parameters: without any, it has nothing to do.
const hasPathParams = (spec: { paths: Record<string, unknown> }) => Object.keys(spec.paths).some((p) => p.includes("{"));
const stPhases: { name: string; location: string; baseUrl?: string; stateful: boolean }[] = [
  ...Object.entries(urls).map(([s, u]) => ({
    name: s === "telegram-bot" ? "gateway" : s,
    location: `${u}/openapi.json`,
    stateful: hasPathParams(specs[s as ServiceName]),
  })),
  { name: "gateway-api", location: files.gatewayApi, baseUrl: urls["telegram-bot"], stateful: true },
  { name: "scraper-upload", location: files.scraperUpload, baseUrl: urls.scraper, stateful: false },
];

for (const p of stPhases) {
  if (only && !only.has(p.name)) continue;
  await phase(p.name, async (exchanges) => {
    const runs: StRun[] = [
      { name: `${p.name}-random`, location: p.location, ...(p.baseUrl ? { baseUrl: p.baseUrl } : {}), phases: RANDOM, maxExamples, seed },
    ];
    if (p.stateful)
      runs.push({
        name: `${p.name}-stateful`,
        location: p.location,
        ...(p.baseUrl ? { baseUrl: p.baseUrl } : {}),
        phases: ["stateful"],
        excludeMethods: ["DELETE"],
        maxExamples,
        seed,
      });
    for (const run of runs) {
      const result = await runSchemathesis(ST, run, urls, p.name, reportDir);
      exchanges.push(...result.exchanges);
      // Every exchange is in memory now; a HAR of hundreds of MB is not worth keeping on disk.
      if (!args.keep && ((await fs.stat(result.har).catch(() => undefined))?.size ?? 0) > MAX_KEPT_HAR_BYTES)
        await fs.rm(result.har, { force: true });
      for (const e of result.errors)
        failures.push({ phase: p.name, kind: "schemathesis", detail: `${e} (output: ${path.relative(ROOT, result.output)})` });
      // Settle between the runs too, so the stateful run starts on the data the random one left.
      await settleJobs(p.name);
    }
  });
}

if (!only || only.has("cases")) {
  for (const c of CASES) {
    await phase(`case: ${c.name}`, async (exchanges) => {
      const ctx: CaseContext = {
        send: async (service, method, target, opts) => {
          const ex = await send(urls, `case: ${c.name}`, service, method, target, opts);
          exchanges.push(ex);
          return ex;
        },
        waitJob,
        dataDir,
        demoChatId,
      };
      if (c.setup) {
        await c.setup(ctx);
        await settleJobs(`case: ${c.name}`);
        before = await takeSnapshot(dataDir);
      }
      for (const problem of await c.run(ctx)) failures.push({ phase: `case: ${c.name}`, kind: "case", detail: problem });
      return new Set(c.mayChange);
    });
  }
}

// --- the report ----------------------------------------------------------------------------------
const totalMs = Date.now() - started;
await system.close();
if (!args.keep) await fs.rm(path.dirname(dataDir), { recursive: true, force: true });

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const count = (xs: Exchange[], f: (x: Exchange) => boolean) => xs.filter(f).length;
const kinds = (phase: string, k: Kind) => failures.filter((f) => f.phase === phase && f.kind === k).length;

const lines: string[] = [];
lines.push("", `tglens hostile-input run: schemathesis ${stVersion}, ${maxExamples} examples per operation, seed ${seed}`, "");
const header =
  `${pad("phase", 64)}${lpad("requests", 9)}${lpad("2xx", 6)}${lpad("4xx", 6)}${lpad("5xx", 5)}${lpad("no ans", 7)}${lpad("bad err", 8)}` +
  `${lpad("changes ok/bad", 15)}${lpad("integrity", 10)}${lpad("failed", 7)}${lpad("time", 8)}`;
lines.push(header, "-".repeat(header.length));
for (const p of phases) {
  const xs = p.exchanges;
  lines.push(
    `${pad(p.name.length > 63 ? `${p.name.slice(0, 62)}…` : p.name, 64)}${lpad(xs.length, 9)}${lpad(
      count(xs, (x) => x.status >= 200 && x.status < 300),
      6,
    )}${lpad(
      count(xs, (x) => x.status >= 400 && x.status < 500),
      6,
    )}` +
      `${lpad(
        count(xs, (x) => x.status >= 500),
        5,
      )}${lpad(
        count(xs, (x) => x.status === 0),
        7,
      )}${lpad(kinds(p.name, "error body"), 8)}` +
      `${lpad(`${p.legitChanges}/${kinds(p.name, "data change")}`, 15)}${lpad(p.integrity === "ok" ? "ok" : "FAIL", 10)}` +
      `${lpad(kinds(p.name, "case") + kinds(p.name, "job never ends"), 7)}${lpad(`${(p.ms / 1000).toFixed(1)}s`, 8)}`,
  );
}
const all = phases.flatMap((p) => p.exchanges);
lines.push("-".repeat(header.length));
lines.push(
  `${pad("total", 64)}${lpad(all.length, 9)}${lpad(
    count(all, (x) => x.status >= 200 && x.status < 300),
    6,
  )}${lpad(
    count(all, (x) => x.status >= 400 && x.status < 500),
    6,
  )}${lpad(
    count(all, (x) => x.status >= 500),
    5,
  )}${lpad(
    count(all, (x) => x.status === 0),
    7,
  )}`,
);

const by5xx = new Map<string, { n: number; statuses: Set<number>; first: Failure }>();
for (const f of failures.filter((f) => f.kind === "5xx")) {
  const e = by5xx.get(f.route!) ?? { n: 0, statuses: new Set<number>(), first: f };
  e.n++;
  e.statuses.add(f.exchange!.status);
  by5xx.set(f.route!, e);
}
lines.push("", `5xx by route (client side): ${by5xx.size === 0 ? "none" : ""}`);
for (const [route, e] of [...by5xx].sort((a, b) => b[1].n - a[1].n)) lines.push(`  ${pad(route, 60)} ${lpad(e.n, 5)} × ${[...e.statuses].join("/")}`);
const serverSide = phases.flatMap((p) => p.serverSide5xx.map((s) => `${p.name}: ${s}`));
lines.push(`5xx the services counted themselves (incl. internal calls): ${serverSide.length === 0 ? "none" : ""}`);
for (const s of serverSide) lines.push(`  ${s}`);

// Up to REPROS_PER_ROUTE reproductions per (kind, route), distinct by status and path; one per other failure.
const REPROS_PER_ROUTE = 3;
const seen = new Set<string>();
const perRoute = new Map<string, number>();
const shown: Failure[] = [];
for (const f of failures) {
  const group = `${f.kind}|${f.route ?? f.detail.slice(0, 80)}`;
  const mode = f.exchange?.target.includes("mode=") ? /mode=([a-z]*)/.exec(f.exchange.target)?.[1] : "";
  const key = f.exchange ? `${group}|${f.exchange.status}|${f.exchange.target.split("?")[0]}|${mode}` : group;
  if (seen.has(key) || (perRoute.get(group) ?? 0) >= REPROS_PER_ROUTE) continue;
  seen.add(key);
  perRoute.set(group, (perRoute.get(group) ?? 0) + 1);
  if (f.exchange) f.repro = await curlOf(f.exchange, path.join(reportDir, "bodies"), shown.length + 1);
  shown.push(f);
}
lines.push(
  "",
  failures.length === 0
    ? "failures: none"
    : `failures: ${failures.length} (${shown.length} distinct; one reproduction each, against \`npm start\`'s ports)`,
);
for (const [i, f] of shown.entries()) {
  lines.push(`${lpad(i + 1, 3)}. [${f.kind}] ${f.phase}${f.route ? ` — ${f.route}` : ""}`);
  lines.push(`     ${f.detail.split("\n").slice(0, 6).join("\n     ")}`);
  if (f.repro) lines.push(`     ${f.repro}`);
}
const logged = phases.flatMap((p) => p.errorsLogged.map((e) => `${p.name}: ${e}`));
if (logged.length > 0) {
  lines.push("", `server errors logged: ${logged.length} (first 15; all in ${path.relative(ROOT, logFile)})`);
  for (const l of [...new Set(logged)].slice(0, 15)) lines.push(`  ${l.slice(0, 300)}`);
}
const verdict = failures.length === 0 ? "PASS" : "FAIL";
lines.push(
  "",
  `${verdict}: ${all.length} requests, ${count(all, (x) => x.status >= 500)} 5xx, ` +
    `${failures.filter((f) => f.kind === "data change").length} unexplained data changes, ` +
    `integrity ${phases.every((p) => p.integrity === "ok") ? "ok" : "FAILED"}, ${(totalMs / 1000).toFixed(0)} s. ` +
    `Reports: ${path.relative(ROOT, reportDir)}`,
);
process.stdout.write(lines.join("\n") + "\n");

const SUMMARY_BODY_BYTES = 64 * 1024;
const serial = (ex?: Exchange) =>
  ex && {
    service: ex.service,
    method: ex.method,
    target: ex.target,
    headers: ex.headers,
    body_bytes: ex.body?.length ?? 0,
    body_base64: ex.body?.subarray(0, SUMMARY_BODY_BYTES).toString("base64"),
    status: ex.status,
    response: ex.response.slice(0, 2000),
    error: ex.error,
  };
await fs.writeFile(
  path.join(reportDir, "summary.json"),
  JSON.stringify(
    {
      verdict,
      seed,
      max_examples: maxExamples,
      seconds: totalMs / 1000,
      phases: phases.map((p) => ({
        name: p.name,
        requests: p.exchanges.length,
        seconds: p.ms / 1000,
        integrity: p.integrity,
        legit_changes: p.legitChanges,
        server_side_5xx: p.serverSide5xx,
        errors_logged: p.errorsLogged,
      })),
      failures: failures.map((f) => ({ ...f, exchange: serial(f.exchange) })),
    },
    null,
    1,
  ),
);
process.exit(failures.length === 0 ? 0 : 1);
