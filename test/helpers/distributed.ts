/**
 * Distributed mode for tests: a fresh Kafka broker of the test's own (scripts/kafka.sh on a
 * dedicated port, its state wiped first so no earlier run's messages or offsets leak in), and the
 * five services as separate `bin/tglens service <name>` processes that a test can kill -9, SIGTERM
 * and restart one by one, each with a data directory of its own (data/<service>/), as on five hosts:
 * no service can lean on another's files. Logs of every process go to files under the test's directory.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Admin, Consumer, ListOffsetTimestamps } from "@platformatic/kafka";
import { SERVICE_NAMES, type ServiceName } from "../../services/common/config.ts";
import { freePort, tempDir } from "./system.ts";
import { TEAM_CHAT_EXPORT } from "./fixtures.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system) a process has used so far, seconds, from /proc (Linux clock ticks of 1/100 s). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function kafkaScript(command: "start" | "stop", port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [path.join(ROOT, "scripts/kafka.sh"), command],
      { cwd: ROOT, env: { ...process.env, KAFKA_PORT: String(port) }, timeout: 300_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`kafka.sh ${command} failed: ${stderr || err.message}`)) : resolve()),
    );
  });
}

/** A broker of this test's own on `port`, started from empty state. */
export class TestBroker {
  readonly port: number;
  constructor(port: number) {
    if (port === 9092) throw new Error("tests must not use the shared broker port 9092");
    this.port = port;
  }
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }
  async startFresh(): Promise<void> {
    await kafkaScript("stop", this.port);
    await fs.rm(path.join(ROOT, ".cache/kafka", `port-${this.port}`), { recursive: true, force: true });
    await kafkaScript("start", this.port);
  }
  start(): Promise<void> {
    return kafkaScript("start", this.port);
  }
  stop(): Promise<void> {
    return kafkaScript("stop", this.port);
  }
  /** The broker's JVM process id, from the pid file scripts/kafka.sh writes. */
  async pid(): Promise<number> {
    return Number((await fs.readFile(path.join(ROOT, ".cache/kafka", `port-${this.port}`, "kafka.pid"), "utf8")).trim());
  }
}

export const envSuffix = (name: ServiceName) => (name === "telegram-bot" ? "GATEWAY" : name.toUpperCase());

/** Environment shared by the five processes of one test system: ports, directories, brokers. */
export async function distributedEnv(
  brokers: string,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; root: string; ports: Record<ServiceName, number> }> {
  const root = await tempDir("dist");
  const ports = {} as Record<ServiceName, number>;
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    KAFKA_BROKERS: brokers,
    TGLENS_DATA_DIR: path.join(root, "data"),
    TGLENS_IMPORT_DIR: path.join(root, "imports"),
    TGLENS_MODEL_CACHE: path.join(ROOT, ".cache/models"),
    TGLENS_LOG_LEVEL: "info",
    TGLENS_DEMO: "0",
    ...extra,
  };
  for (const name of SERVICE_NAMES) {
    ports[name] = await freePort();
    env[`TGLENS_${envSuffix(name)}_PORT`] = String(ports[name]);
  }
  await fs.mkdir(env.TGLENS_IMPORT_DIR!, { recursive: true });
  await fs.mkdir(path.join(root, "logs"), { recursive: true });
  return { env, root, ports };
}

/** One service process. */
export class ServiceProcess {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly url: string;

  constructor(name: ServiceName, env: Record<string, string>, port: number, logFile: string) {
    this.name = name;
    this.url = `http://127.0.0.1:${port}`;
    const log = createWriteStream(logFile, { flags: "a" });
    this.child = spawn(path.join(ROOT, "bin/tglens"), ["service", name], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.pipe(log, { end: false });
    this.child.stderr!.pipe(log, { end: false });
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until GET /ready answers 200. */
  async waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting: ${JSON.stringify(await this.exited)}`);
      const ok = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
  }

  /** A Prometheus counter or gauge of this process (0 when absent). */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  }

  /** Resident set size of the process, bytes (from /proc). */
  async rss(): Promise<number> {
    const status = await fs.readFile(`/proc/${this.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  async kill9(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM; resolves with the exit status and how long the exit took. */
  async term(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t0 = Date.now();
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.running && this.child.kill("SIGKILL"), 30_000);
    const result = await this.exited;
    clearTimeout(timer);
    return { ...result, ms: Date.now() - t0 };
  }
}

/** The five services as separate processes. */
export class DistributedSystem {
  readonly env: Record<string, string>;
  readonly root: string;
  readonly ports: Record<ServiceName, number>;
  readonly procs = new Map<ServiceName, ServiceProcess>();

  private constructor(env: Record<string, string>, root: string, ports: Record<ServiceName, number>) {
    this.env = env;
    this.root = root;
    this.ports = ports;
  }

  static async start(brokers: string, extra: Record<string, string> = {}): Promise<DistributedSystem> {
    const { env, root, ports } = await distributedEnv(brokers, extra);
    const system = new DistributedSystem(env, root, ports);
    for (const name of SERVICE_NAMES) system.spawn(name);
    await Promise.all([...system.procs.values()].map((p) => p.waitReady()));
    return system;
  }

  get gateway(): string {
    return `http://127.0.0.1:${this.ports["telegram-bot"]}`;
  }

  get importDir(): string {
    return this.env.TGLENS_IMPORT_DIR!;
  }

  /** The folder that holds the five data directories. */
  get dataRoot(): string {
    return this.env.TGLENS_DATA_DIR!;
  }

  /** The data directory of one service's process (the same across its restarts). */
  dataDirOf(name: ServiceName): string {
    return path.join(this.dataRoot, name);
  }

  proc(name: ServiceName): ServiceProcess {
    return this.procs.get(name)!;
  }

  spawn(name: ServiceName): ServiceProcess {
    const env = { ...this.env, TGLENS_DATA_DIR: this.dataDirOf(name) };
    const p = new ServiceProcess(name, env, this.ports[name], path.join(this.root, "logs", `${name}.log`));
    this.procs.set(name, p);
    return p;
  }

  async restart(name: ServiceName): Promise<ServiceProcess> {
    const p = this.spawn(name);
    await p.waitReady();
    return p;
  }

  async close(keepFiles = false): Promise<void> {
    await Promise.all([...this.procs.values()].filter((p) => p.running).map((p) => p.term()));
    if (!keepFiles) await fs.rm(this.root, { recursive: true, force: true });
  }
}

/** Messages consumer groups still have to handle: sum over their topics' partitions of end - committed. */
export async function consumerLag(brokers: string, groups: Record<string, string>): Promise<Record<string, number>> {
  const admin = new Admin({ clientId: "tglens-test-lag", bootstrapBrokers: [brokers], retries: 2 });
  const reader = new Consumer({
    clientId: "tglens-test-lag-reader",
    groupId: "tglens-test-lag-reader",
    bootstrapBrokers: [brokers],
    autocommit: false,
  });
  try {
    const out: Record<string, number> = {};
    for (const [group, topic] of Object.entries(groups)) {
      const ends = (await reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? [];
      const committed = await committedOffsets(admin, group, topic);
      let lag = 0;
      ends.forEach((end, p) => {
        lag += Number(end - (committed.get(p) ?? 0n));
      });
      out[group] = lag;
    }
    return out;
  } finally {
    await Promise.allSettled([admin.close(), reader.close()]);
  }
}

async function committedOffsets(admin: Admin, group: string, topic: string): Promise<Map<number, bigint>> {
  const res = await admin.listConsumerGroupOffsets({ groups: [group] });
  const map = new Map<number, bigint>();
  for (const g of res) {
    for (const t of g.topics) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) if (p.committedOffset >= 0n) map.set(p.partitionIndex, p.committedOffset);
    }
  }
  return map;
}

/** End offsets and a group's committed offsets of one topic, per partition. */
export async function topicOffsets(brokers: string, group: string, topic: string): Promise<{ ends: bigint[]; committed: Map<number, bigint> }> {
  const admin = new Admin({ clientId: "tglens-test-offsets", bootstrapBrokers: [brokers], retries: 2 });
  const reader = new Consumer({
    clientId: "tglens-test-offsets-reader",
    groupId: "tglens-test-offsets-reader",
    bootstrapBrokers: [brokers],
    autocommit: false,
  });
  try {
    const ends = (await reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? [];
    return { ends: [...ends], committed: await committedOffsets(admin, group, topic) };
  } finally {
    await Promise.allSettled([admin.close(), reader.close()]);
  }
}

/** JSON over HTTP against a base URL. */
export async function api(base: string, method: string, url: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; json: any }> {
  const res = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, json: await res.json() };
}

/** The consumer groups of the three bus stages and the topic each reads. */
export const STAGE_GROUPS = { preprocessor: "preprocess-topic", embedder: "embed-topic", storage: "store-topic" };

/**
 * Export messages for a larger import: the first `size` messages of the shared IRC corpus, or,
 * when that file is absent, the team-chat fixture replicated with fresh ids.
 */
export async function corpusMessages(size: number): Promise<any[]> {
  const irc = path.resolve(ROOT, "../shared/data/ubuntu-irc-train.json");
  try {
    return (JSON.parse(await fs.readFile(irc, "utf8")) as { messages: any[] }).messages.slice(0, size);
  } catch {
    // no corpus on this machine: fall through to the fixture
  }
  const team = JSON.parse(await fs.readFile(TEAM_CHAT_EXPORT, "utf8")) as { messages: any[] };
  const out: any[] = [];
  for (let round = 0; out.length < size; round++) {
    for (const m of team.messages) out.push({ ...m, id: round * 100_000 + m.id, reply_to_message_id: undefined });
  }
  return out.slice(0, size);
}

/** Writes a single-chat export of `messages` into `dir`; returns its file name. */
export async function writeExport(dir: string, label: string, chatId: number, messages: unknown[]): Promise<string> {
  const name = `${label.toLowerCase()}-${chatId}.json`;
  await fs.writeFile(path.join(dir, name), JSON.stringify({ name: `${label} ${chatId}`, type: "public_supergroup", id: chatId, messages }));
  return name;
}

/** Messages storage holds for a chat (-1 while the gateway does not answer). */
export async function chatCount(gateway: string, chatId: number): Promise<number> {
  const res = await api(gateway, "GET", "/api/chats");
  if (res.status !== 200) return -1;
  return res.json.chats.find((c: any) => c.chat_id === String(chatId))?.messages ?? 0;
}

/** Polls `check` until it holds; returns how long that took, or throws naming `what`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until every stage's group drained and the chat holds `expected` messages; returns the wait. */
export async function waitDrained(gateway: string, brokers: string, chatId: number, expected: number, timeoutMs: number): Promise<number> {
  return until(
    `chat ${chatId} to hold ${expected} messages with every consumer group drained`,
    async () => {
      if ((await chatCount(gateway, chatId)) < expected) return false;
      const lag = await consumerLag(brokers, STAGE_GROUPS);
      return Object.values(lag).every((n) => n === 0);
    },
    timeoutMs,
    500,
  );
}
