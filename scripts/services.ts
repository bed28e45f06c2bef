/**
 * `npm run services`: distributed mode on this machine. Starts the local Kafka broker when none is
 * running (scripts/kafka.sh, 127.0.0.1:$KAFKA_PORT, default 9092), then the five services as
 * separate processes (`bin/tglens service <name>`), each line of their output prefixed with the
 * service (`[embedder] ...`). Ctrl-C or SIGTERM stops them all (SIGTERM, then a wait; SIGKILL for a
 * process still running after 20 s) and exits. If one service exits on its own, the others are
 * stopped too and the exit status is non-zero.
 *
 * Environment: everything is passed on to the services (TGLENS_* ports, TGLENS_DATA_DIR, ...).
 * KAFKA_BROKERS, when set, is used as is and no local broker is started; otherwise it is
 * 127.0.0.1:$KAFKA_PORT. The broker is left running on exit (`npm run kafka:stop` stops it).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { loadConfig, SERVICE_NAMES, type ServiceName } from "../services/common/config.ts";
import { portOpen } from "./port-open.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STOP_TIMEOUT_MS = 20_000;
const PREFIX_WIDTH = Math.max(...SERVICE_NAMES.map((n) => n.length)) + 2;
const COLORS: Record<ServiceName, number> = { "telegram-bot": 36, scraper: 35, preprocessor: 33, embedder: 32, storage: 34 };

function say(line: string): void {
  process.stdout.write(`${"[services]".padEnd(PREFIX_WIDTH + 1)}${line}\n`);
}

/** Starts the local broker unless something already serves its port. */
async function ensureBroker(port: number): Promise<void> {
  if (await portOpen("127.0.0.1", port)) {
    say(`Kafka already serving on 127.0.0.1:${port}`);
    return;
  }
  say(`starting Kafka on 127.0.0.1:${port} (scripts/kafka.sh start)`);
  await new Promise<void>((resolve, reject) => {
    const child = execFile("bash", [path.join(ROOT, "scripts/kafka.sh"), "start"], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_PORT: String(port) },
      timeout: 600_000,
    });
    child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`scripts/kafka.sh start exited with ${code}`))));
  });
}

function prefixLines(stream: NodeJS.ReadableStream, name: ServiceName, out: NodeJS.WriteStream): void {
  const tag = `[${name}]`.padEnd(PREFIX_WIDTH);
  const label = out.isTTY ? `\x1b[${COLORS[name]}m${tag}\x1b[0m` : tag;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => out.write(`${label} ${line}\n`));
}

async function main(): Promise<void> {
  // Validate the configuration once here, so a typo is reported once rather than by five processes.
  let env: NodeJS.ProcessEnv = { ...process.env };
  if (!env.KAFKA_BROKERS) {
    const port = Number(env.KAFKA_PORT ?? 9092);
    await ensureBroker(port);
    env = { ...env, KAFKA_BROKERS: `127.0.0.1:${port}` };
  }
  const config = loadConfig(env);

  const children = new Map<ServiceName, ChildProcess>();
  let stopping = false;
  let exitCode = 0;
  const exited = new Map<ServiceName, Promise<void>>();

  const stopAll = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`${reason}: stopping ${[...children.keys()].join(", ")}`);
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const [name, child] of children) {
        if (child.exitCode === null && child.signalCode === null) {
          say(`${name} still running ${STOP_TIMEOUT_MS / 1000} s after SIGTERM: SIGKILL`);
          child.kill("SIGKILL");
          exitCode = 1;
        }
      }
    }, STOP_TIMEOUT_MS);
    await Promise.all(exited.values());
    clearTimeout(timer);
    say("all services stopped");
    process.exit(exitCode);
  };

  process.on("SIGINT", () => void stopAll("SIGINT"));
  process.on("SIGTERM", () => void stopAll("SIGTERM"));
  // Last resort if this process dies of an error: do not leave orphans behind.
  process.on("exit", () => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });

  say(`brokers ${env.KAFKA_BROKERS}; starting ${SERVICE_NAMES.join(", ")}`);
  for (const name of SERVICE_NAMES) {
    // Own process group (detached): a Ctrl-C in the terminal reaches this script only, which then
    // sends each service exactly one SIGTERM.
    const child = spawn(path.join(ROOT, "bin/tglens"), ["service", name], {
      cwd: process.cwd(),
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.set(name, child);
    prefixLines(child.stdout!, name, process.stdout);
    prefixLines(child.stderr!, name, process.stderr);
    exited.set(
      name,
      new Promise<void>((resolve) =>
        child.on("exit", (code, signal) => {
          if (!stopping || code !== 0) say(`${name} exited (${signal ?? `status ${code}`})`);
          if (code !== 0) exitCode = 1;
          if (!stopping) void stopAll(`${name} exited`);
          resolve();
        }),
      ),
    );
  }

  // Tell the person where to look once every service answers /ready.
  const deadline = Date.now() + 180_000;
  const pending = new Set<ServiceName>(SERVICE_NAMES);
  while (pending.size > 0 && !stopping && Date.now() < deadline) {
    for (const name of [...pending]) {
      const ok = await fetch(`http://127.0.0.1:${config.ports[name]}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) pending.delete(name);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (stopping) return;
  if (pending.size === 0) say(`all five services ready; gateway on http://127.0.0.1:${config.ports["telegram-bot"]} (Ctrl-C stops them)`);
  else say(`not ready after 180 s: ${[...pending].join(", ")}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`services: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
