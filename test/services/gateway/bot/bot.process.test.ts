/**
 * The gateway as a process with a bot token (a canary) whose Bot API cannot be reached, then one
 * that refuses the token: everything the process writes to stdout and stderr is read, and the
 * token is in none of it, while the failures themselves are reported. Then the Bot API vanishes
 * while the bot long-polls (connections reset, or a server that accepts and never answers) and the
 * process gets SIGTERM: it still exits, cleanly, and its ports are free again.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { FakeBotApi } from "../../../helpers/fake-bot-api.ts";
import { freePort, tempDir } from "../../../helpers/system.ts";
import { SERVICE_NAMES } from "../../../../services/common/config.ts";

const TOKEN = "7700000003:AAG-process-canary-token";
/** The requirement is 10 s; this is a liveness check with room for a loaded machine. */
const EXIT_LIMIT_MS = 15_000;

interface GatewayProcess {
  child: ChildProcess;
  ports: number[];
  output(): string;
}

/** `tglens service telegram-bot` (or `serve`: all five services) with the bot on `apiRoot`. */
async function spawnGateway(apiRoot: string, command: "service" | "serve" = "service"): Promise<GatewayProcess> {
  const root = await tempDir("bot-process");
  const ports: Record<string, string> = {};
  for (const name of command === "serve" ? SERVICE_NAMES : (["telegram-bot"] as const)) {
    ports[`TGLENS_${name === "telegram-bot" ? "GATEWAY" : name.toUpperCase()}_PORT`] = String(await freePort());
  }
  const child = spawn(path.resolve("bin/tglens"), command === "serve" ? ["serve"] : ["service", "telegram-bot"], {
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_BOT_API_ROOT: apiRoot,
      TELEGRAM_ALLOWED_USER_IDS: "1",
      TGLENS_DATA_DIR: path.join(root, "data"),
      TGLENS_IMPORT_DIR: path.join(root, "imports"),
      TGLENS_MODEL_CACHE: path.resolve(".cache/models"),
      TGLENS_DEMO: "0",
      TGLENS_LOG_LEVEL: "debug",
      ...ports,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return { child, ports: Object.values(ports).map(Number), output: () => output };
}

/** SIGTERM, then the exit code; fails when the process is still running after EXIT_LIMIT_MS. */
async function terminate(gateway: GatewayProcess, t?: { diagnostic(message: string): void }): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => gateway.child.once("exit", (code) => resolve(code)));
  const t0 = Date.now();
  gateway.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<"late">((resolve) => (timer = setTimeout(resolve, EXIT_LIMIT_MS, "late")))]);
  clearTimeout(timer);
  if (code === "late") {
    gateway.child.kill("SIGKILL");
    assert.fail(`still running ${EXIT_LIMIT_MS} ms after SIGTERM; output:\n${gateway.output().slice(-3000)}`);
  }
  assert.ok(Date.now() - t0 < EXIT_LIMIT_MS, `exit took ${Date.now() - t0} ms`);
  t?.diagnostic(`exited ${Date.now() - t0} ms after SIGTERM`);
  return code;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function waitFor(condition: () => boolean, what: string, gateway: GatewayProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline || gateway.child.exitCode !== null) assert.fail(`${what}; output:\n${gateway.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runGateway(apiRoot: string, ms: number): Promise<string> {
  const gateway = await spawnGateway(apiRoot);
  await new Promise((resolve) => setTimeout(resolve, ms));
  // Stopping cuts the bot's retries short: the process leaves at once and cleanly.
  assert.equal(await terminate(gateway), 0, gateway.output().slice(-2000));
  return gateway.output();
}

describe("gateway process with a bot token", { timeout: 60_000 }, () => {
  it("keeps the token out of its output when the Bot API is unreachable", async () => {
    const output = await runGateway(`http://127.0.0.1:${await freePort()}`, 6_000);
    assert.match(output, /Bot API call failed/);
    assert.match(output, /Network request for 'getMe' failed/);
    assert.ok(!output.includes(TOKEN), "the token was printed");
    assert.ok(!output.includes(TOKEN.split(":")[1]!), "the token's secret half was printed");
  });

  it("keeps the token out of its output when the Bot API refuses it", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, error_code: 401, description: "Unauthorized" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const output = await runGateway(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 4_000);
      assert.match(output, /401: Unauthorized/);
      assert.ok(!output.includes(TOKEN) && !output.includes(TOKEN.split(":")[1]!), "the token was printed");
    } finally {
      server.close();
    }
  });
});

describe("SIGTERM while the Bot API vanishes mid-poll", { timeout: 180_000 }, () => {
  const vanishings = {
    "connections reset, new ones refused": (api: FakeBotApi) => api.close(),
    "accepts connections, never answers": async (api: FakeBotApi) => api.goSilent(),
  };
  const cases: { command: "service" | "serve"; how: keyof typeof vanishings }[] = [
    { command: "service", how: "connections reset, new ones refused" },
    { command: "service", how: "accepts connections, never answers" },
    { command: "serve", how: "connections reset, new ones refused" },
    { command: "serve", how: "accepts connections, never answers" },
  ];
  for (const { command, how } of cases) {
    it(`tglens ${command}: exits cleanly and frees its ports (${how})`, async (t) => {
      const api = new FakeBotApi(TOKEN);
      await api.start();
      const gateway = await spawnGateway(api.url, command);
      try {
        // Long polling has begun and a getUpdates is waiting on the server.
        await waitFor(() => api.callsOf("getUpdates").length >= 2, "the bot never long-polled", gateway);
        await vanishings[how](api);
        const code = await terminate(gateway, t);
        const output = gateway.output();
        assert.match(output, /shutting down/);
        // The cause is fixed, not only the deadline: a clean exit, nothing left pending.
        assert.doesNotMatch(output, /still pending/, output.slice(-2000));
        assert.equal(code, 0, output.slice(-2000));
        for (const port of gateway.ports) assert.ok(await portIsFree(port), `port ${port} still bound`);
      } finally {
        if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
        await api.close();
      }
    });
  }
});
