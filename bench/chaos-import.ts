/**
 * `npm run chaos [-- --messages 20000 --seed 1 --min-gap 3 --max-gap 15 --variant fp32]`: a soak,
 * not a test. A Kafka broker of its own (KAFKA_CHAOS_PORT, default 19792, from empty state), the
 * five services as five processes, and one import of the first N messages of the Ubuntu IRC corpus.
 * While the import runs, a random service is killed with SIGKILL at a random moment (every
 * min-gap…max-gap seconds), and restarted after a random pause of up to 2 s. When the job is done
 * and every consumer group has drained, it counts: the chat must hold exactly the messages the
 * export keeps after cleaning (none lost), search results must never show a (chat, message) twice
 * (no duplicate in the vector index), and the job's counters must match. Exit status 1 when any of
 * that fails. The kills are drawn from a seeded generator, so a failing run can be replayed.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { SERVICE_NAMES, type ServiceName } from "../services/common/config.ts";
import { preprocess } from "../services/preprocessor/clean.ts";
import { flattenText } from "../services/scraper/export-mapping.ts";
import { mulberry32 } from "../test/helpers/random.ts";
import {
  api,
  chatCount,
  consumerLag,
  corpusMessages,
  DistributedSystem,
  sleep,
  STAGE_GROUPS,
  TestBroker,
  writeExport,
} from "../test/helpers/distributed.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    "min-gap": { type: "string", default: "3" },
    "max-gap": { type: "string", default: "15" },
    variant: { type: "string", default: "fp32" },
    "timeout-min": { type: "string", default: "30" },
  },
});
const N = Number(args.messages);
const SEED = Number(args.seed);
const MIN_GAP_MS = Number(args["min-gap"]) * 1000;
const MAX_GAP_MS = Number(args["max-gap"]) * 1000;
const DEADLINE = Date.now() + Number(args["timeout-min"]) * 60_000;
const CHAT_ID = 4242;

// Seeded, so a run's kill schedule can be replayed with --seed.
const random = mulberry32(SEED);
const t0 = Date.now();
const say = (line: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

const messages = await corpusMessages(N);
const kept = messages.filter((m) => m.type === "message");
const expected = kept.filter((m) => preprocess(flattenText(m.text) ?? "") !== null).length;
say(`${N} messages, ${kept.length} kept by the scraper, ${expected} to store; seed ${SEED}`);

const broker = new TestBroker(Number(process.env.KAFKA_CHAOS_PORT ?? 19792));
await broker.startFresh();
const sys = await DistributedSystem.start(broker.brokers, { TGLENS_LOG_LEVEL: "warn", TGLENS_MODEL_VARIANT: args.variant! });
const failures: string[] = [];
const kills: { service: ServiceName; at: number; stored: number }[] = [];
try {
  const exportName = await writeExport(sys.importDir, "Chaos", CHAT_ID, messages);
  const accepted = await api(sys.gateway, "POST", "/api/scrape", { export_path: exportName });
  if (accepted.status !== 202) throw new Error(`import refused: ${JSON.stringify(accepted.json)}`);
  const jobId: string = accepted.json.job_id;
  say(`job ${jobId} accepted`);

  /** The job through the gateway, or undefined while the gateway or the scraper is down. */
  const jobStatus = async () => {
    const res = await api(sys.gateway, "GET", `/api/jobs/${jobId}`).catch(() => undefined);
    return res?.status === 200 ? res.json : undefined;
  };
  const drained = async () => {
    if ((await chatCount(sys.gateway, CHAT_ID).catch(() => -1)) < expected) return false;
    const lag = await consumerLag(broker.brokers, STAGE_GROUPS).catch(() => undefined);
    return lag !== undefined && Object.values(lag).every((n) => n === 0);
  };

  let nextKill = Date.now() + MIN_GAP_MS + random() * (MAX_GAP_MS - MIN_GAP_MS);
  for (;;) {
    if (Date.now() > DEADLINE) throw new Error(`not drained after ${args["timeout-min"]} minutes`);
    const job = await jobStatus();
    if (job?.state === "done" && (await drained())) break;
    if (job?.state === "failed") throw new Error(`job failed: ${JSON.stringify(job.error)}`);
    if (Date.now() >= nextKill) {
      const service = SERVICE_NAMES[Math.floor(random() * SERVICE_NAMES.length)]!;
      const stored = await chatCount(sys.gateway, CHAT_ID).catch(() => -1);
      await sys.proc(service).kill9();
      kills.push({ service, at: Date.now() - t0, stored });
      say(`kill -9 ${service} (stored so far: ${stored < 0 ? "?" : stored})`);
      await sleep(random() * 2_000);
      await sys.restart(service);
      say(`${service} restarted and ready`);
      nextKill = Date.now() + MIN_GAP_MS + random() * (MAX_GAP_MS - MIN_GAP_MS);
    }
    await sleep(500);
  }
  say(`job done and every group drained after ${kills.length} kills`);

  // Nothing more may arrive: a second look after a pause.
  await sleep(3_000);
  const count = await chatCount(sys.gateway, CHAT_ID);
  if (count !== expected) failures.push(`storage holds ${count} messages, expected ${expected}`);
  const job = await jobStatus();
  if (job?.counters.stored !== expected) failures.push(`job counted ${job?.counters.stored} stored, expected ${expected}`);
  if (job?.counters.scraped !== kept.length) failures.push(`job counted ${job?.counters.scraped} scraped, expected ${kept.length}`);
  for (const q of [
    "how do I install ubuntu",
    "sound card driver not working",
    "thanks for the help",
    "kernel panic on boot",
    "wireless network drops",
  ]) {
    for (const mode of ["semantic", "hybrid"]) {
      const res = await api(sys.gateway, "GET", `/api/search?${new URLSearchParams({ q, k: "100", chat: String(CHAT_ID), mode })}`);
      const keys: string[] = res.json.results.map((r: { chat_id: string; message_id: number }) => `${r.chat_id}/${r.message_id}`);
      if (new Set(keys).size !== keys.length) failures.push(`duplicates in ${mode} results for "${q}"`);
    }
  }
  say(`stored ${count} of ${expected}; job counters ${JSON.stringify(job?.counters)}`);
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
} finally {
  const keep = failures.length > 0;
  await sys.close(keep);
  await broker.stop();
  if (keep) say(`logs and data kept in ${path.join(sys.root)}`);
}
const byService = Object.fromEntries(SERVICE_NAMES.map((s) => [s, kills.filter((k) => k.service === s).length]));
say(`kills: ${JSON.stringify(byService)}`);
if (failures.length > 0) {
  for (const f of failures) process.stdout.write(`FAIL ${f}\n`);
  process.exit(1);
}
say(`PASS: no message lost, none duplicated (seed ${SEED})`);
