/**
 * The gateway as a process with a bot token (a canary) whose Bot API cannot be reached, then one
 * that refuses the token: everything the process writes to stdout and stderr is read, and the
 * token is in none of it, while the failures themselves are reported.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { freePort, tempDir } from "../../helpers/system.ts";

const TOKEN = "7700000003:AAG-process-canary-token";

async function runGateway(apiRoot: string, ms: number): Promise<string> {
  const root = await tempDir("bot-process");
  const child = spawn(path.resolve("bin/tglens"), ["service", "telegram-bot"], {
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_BOT_API_ROOT: apiRoot,
      TELEGRAM_ALLOWED_USER_IDS: "1",
      TGLENS_DATA_DIR: path.join(root, "data"),
      TGLENS_GATEWAY_PORT: String(await freePort()),
      TGLENS_DEMO: "0",
      TGLENS_LOG_LEVEL: "debug",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  await new Promise((resolve) => setTimeout(resolve, ms));
  const t0 = Date.now();
  child.kill("SIGTERM");
  const code = await new Promise((resolve) => child.on("exit", resolve));
  // Stopping cuts the bot's retries short: the process leaves at once and cleanly.
  assert.equal(code, 0, output.slice(-2000));
  assert.ok(Date.now() - t0 < 10_000, `exit took ${Date.now() - t0} ms`);
  return output;
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
