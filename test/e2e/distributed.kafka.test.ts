/**
 * Distributed mode end to end, on a real Kafka broker this file starts (scripts/kafka.sh on its own
 * port, KAFKA_TEST_DISTRIBUTED_PORT, default 19392, from empty state) and stops: `npm run services`
 * (scripts/services.ts) runs the five services as five processes; the team-chat fixture goes in
 * through the gateway and comes out searchable, with the same job counters as embedded mode; the
 * job's counters, reported by four processes, are visible at the gateway; /ready answers 503 while
 * the broker is down and 200 once it is back; SIGTERM stops all five and the script exits 0.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { SERVICE_NAMES } from "../../services/common/config.ts";
import { startTestSystem } from "../helpers/system.ts";
import { api, distributedEnv, ROOT, sleep, TestBroker } from "../helpers/distributed.ts";
import { TEAM_CHAT_EXPORT } from "../helpers/fixtures.ts";

interface Needle {
  file: string;
  chat_id: string;
  message_id: number;
  query: string;
  mode: "semantic" | "keyword";
}
const FIXTURES = path.join(ROOT, "test/fixtures/exports");
const expectations = JSON.parse(await fs.readFile(path.join(FIXTURES, "expectations.json"), "utf8")) as {
  files: { file: string; messages: number; service: number; empty: number; chats: { id: string }[] }[];
  needles: Needle[];
};
const team = expectations.files.find((f) => f.file === "team-chat/result.json")!;
const TEAM_ID = team.chats[0]!.id;

const broker = new TestBroker(Number(process.env.KAFKA_TEST_DISTRIBUTED_PORT ?? 19392));

async function waitForJob(base: string, jobId: string, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await api(base, "GET", `/api/jobs/${jobId}`);
    if (json.state !== "running") return json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running: ${JSON.stringify(json)}`);
    await sleep(100);
  }
}

async function waitStatus(url: string, want: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const status = await fetch(url, { signal: AbortSignal.timeout(8_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === want) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${url} answered ${status}, not ${want}, for ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe("distributed mode: five processes over Kafka (npm run services)", { timeout: 300_000 }, () => {
  let services: ChildProcess;
  let output = "";
  let exited: Promise<number | null>;
  let env: Record<string, string>;
  let root: string;
  let ports: Record<(typeof SERVICE_NAMES)[number], number>;
  let gateway: string;
  let jobId: string;

  before(async () => {
    await broker.startFresh();
    ({ env, root, ports } = await distributedEnv(broker.brokers));
    gateway = `http://127.0.0.1:${ports["telegram-bot"]}`;
    // services.ts is given the broker's port, not KAFKA_BROKERS: it finds the broker running and uses it.
    const { KAFKA_BROKERS: _, ...rest } = env;
    services = spawn(process.execPath, [path.join(ROOT, "scripts/services.ts")], {
      cwd: ROOT,
      env: { ...rest, KAFKA_PORT: String(broker.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    services.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    services.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    exited = new Promise((resolve) => services.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!output.includes("all five services ready")) {
      if (services.exitCode !== null) throw new Error(`services.ts exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`services not ready:\n${output.slice(-3000)}`);
      await sleep(200);
    }
  });

  after(async () => {
    if (services && services.exitCode === null) {
      services.kill("SIGTERM");
      await exited;
    }
    await broker.stop();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it("runs the five services as five processes, output prefixed per service", async () => {
    for (const name of SERVICE_NAMES) {
      assert.match(output, new RegExp(`^\\[${name}\\]\\s+\\{.*"service":"${name}"`, "m"), `${name} output prefixed`);
      const health = await api(`http://127.0.0.1:${ports[name]}`, "GET", "/health");
      assert.equal(health.status, 200);
    }
    assert.match(output, /Kafka already serving on 127\.0\.0\.1:/);
  });

  it("imports the team-chat fixture through the gateway: the same counters as embedded mode, every needle in the top 3", async () => {
    await fs.mkdir(path.join(env.TGLENS_IMPORT_DIR!, "team-chat"), { recursive: true });
    await fs.copyFile(TEAM_CHAT_EXPORT, path.join(env.TGLENS_IMPORT_DIR!, "team-chat/result.json"));
    const t0 = Date.now();
    const res = await api(gateway, "POST", "/api/scrape", { export_path: "team-chat/result.json" });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.messages, team.messages);
    jobId = res.json.job_id;
    const job = await waitForJob(gateway, jobId);
    const ms = Date.now() - t0;
    assert.equal(job.state, "done", JSON.stringify(job));

    // The same export through embedded mode, for the reference counters.
    const embedded = await startTestSystem();
    let reference: any;
    try {
      await fs.mkdir(path.join(embedded.config.importDir, "team-chat"), { recursive: true });
      await fs.copyFile(TEAM_CHAT_EXPORT, path.join(embedded.config.importDir, "team-chat/result.json"));
      const r = await api(embedded.url, "POST", "/api/scrape", { export_path: "team-chat/result.json" });
      reference = await waitForJob(embedded.url, r.json.job_id);
    } finally {
      await embedded.close();
    }
    assert.deepEqual(job.counters, reference.counters);
    assert.equal(job.expected, reference.expected);
    assert.equal(job.counters.stored, team.messages - team.empty);
    assert.equal(job.counters.dropped, team.empty);
    assert.equal(job.counters.failed, 0);
    console.log(`# distributed import of ${team.messages} messages: ${ms} ms; counters ${JSON.stringify(job.counters)}`);

    const chats = (await api(gateway, "GET", "/api/chats")).json.chats;
    assert.equal(chats.find((c: any) => c.chat_id === TEAM_ID)?.messages, team.messages - team.empty);

    const needles = expectations.needles.filter((n) => n.file === "team-chat/result.json" && n.mode === "semantic");
    assert.ok(needles.length >= 20);
    const misses: string[] = [];
    for (const n of needles) {
      const { json } = await api(gateway, "GET", `/api/search?${new URLSearchParams({ q: n.query, k: "3" })}`);
      if (!json.results.some((r: any) => r.message_id === n.message_id && r.chat_id === n.chat_id)) misses.push(n.query);
    }
    assert.deepEqual(misses, []);
  });

  it("shows a job's counters, reported by four processes over job-topic, at GET /api/jobs/:id and the scraper's /jobs/:id", async () => {
    const viaGateway = await api(gateway, "GET", `/api/jobs/${jobId}`);
    const viaScraper = await api(`http://127.0.0.1:${ports.scraper}`, "GET", `/jobs/${jobId}`);
    assert.equal(viaGateway.status, 200);
    assert.deepEqual(viaGateway.json, viaScraper.json);
    const c = viaGateway.json.counters;
    // scraped by the scraper, cleaned/dropped by the preprocessor, embedded by the embedder, stored by the storage
    assert.deepEqual(
      { scraped: c.scraped, cleaned: c.cleaned, dropped: c.dropped, embedded: c.embedded, stored: c.stored },
      {
        scraped: team.messages,
        cleaned: team.messages - team.empty,
        dropped: team.empty,
        embedded: team.messages - team.empty,
        stored: team.messages - team.empty,
      },
    );
    assert.equal((await api(gateway, "GET", "/api/jobs/no-such-job")).status, 404);
  });

  it("answers /ready 503 while the broker is stopped and 200 once it is back", async () => {
    const busServices = ["scraper", "preprocessor", "embedder", "storage"] as const;
    for (const name of busServices) assert.equal((await fetch(`http://127.0.0.1:${ports[name]}/ready`)).status, 200);
    await broker.stop();
    for (const name of busServices) {
      const ms = await waitStatus(`http://127.0.0.1:${ports[name]}/ready`, 503, 30_000);
      const body = await api(`http://127.0.0.1:${ports[name]}`, "GET", "/ready");
      assert.equal(body.json.checks.bus, "not ready", JSON.stringify(body.json));
      console.log(`# ${name} /ready 503 ${ms} ms after the broker stopped`);
    }
    await broker.start();
    for (const name of busServices) {
      const ms = await waitStatus(`http://127.0.0.1:${ports[name]}/ready`, 200, 60_000);
      console.log(`# ${name} /ready 200 ${ms} ms after the broker was back`);
    }
    // And the pipeline works again: a second import of the same chat is done and duplicates nothing.
    const res = await api(gateway, "POST", "/api/scrape", { export_path: "team-chat/result.json" });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const job = await waitForJob(gateway, res.json.job_id);
    assert.equal(job.state, "done");
    const chats = (await api(gateway, "GET", "/api/chats")).json.chats;
    assert.equal(chats.find((c: any) => c.chat_id === TEAM_ID)?.messages, team.messages - team.empty);
  });

  it("stops all five on SIGTERM and exits 0", async () => {
    const t0 = Date.now();
    services.kill("SIGTERM");
    const code = await exited;
    const ms = Date.now() - t0;
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /all services stopped/);
    for (const name of SERVICE_NAMES) {
      const alive = await fetch(`http://127.0.0.1:${ports[name]}/health`).then(
        () => true,
        () => false,
      );
      assert.equal(alive, false, `${name} still answers`);
    }
    assert.ok(ms < 20_000, `stopped in ${ms} ms`);
    console.log(`# npm run services stopped all five in ${ms} ms`);
  });
});
