/**
 * The shutdown deadline, in a real process: a stop path that never ends still ends the process at
 * the deadline, with the pending step named in the log; one that ends exits 0; a second signal
 * exits at once.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";

const SHUTDOWN = path.resolve("services/common/shutdown.ts");
const LOGGER = path.resolve("services/common/logger.ts");

/** A process whose stop path is `stopBody` (one step named "stuck step"); resolves once it listens for signals. */
async function spawnStopping(stopBody: string, deadlineMs: number) {
  const script = `
    import { stopOnSignals, stopStep } from ${JSON.stringify(SHUTDOWN)};
    import { createLogger } from ${JSON.stringify(LOGGER)};
    const log = createLogger({ level: "info" });
    stopOnSignals(() => stopStep("stuck step", () => ${stopBody}), log, ${deadlineMs});
    setInterval(() => {}, 1000);
    process.stderr.write("ready\\n");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (d) => (String(d).includes("ready") ? resolve() : reject(new Error(String(d)))));
  });
  return { child, exited, output: () => output };
}

describe("stopOnSignals", { timeout: 30_000 }, () => {
  it("exits at the deadline when a stop step never ends, naming it", async () => {
    const p = await spawnStopping("new Promise(() => {})", 1_500);
    const t0 = Date.now();
    p.child.kill("SIGTERM");
    const code = await p.exited;
    assert.equal(code, 1);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    const lines = p
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; pending?: string[] });
    assert.deepEqual(
      lines.map((l) => l.msg),
      ["shutting down", "shutdown did not finish in time; exiting with these steps still pending"],
    );
    assert.deepEqual(lines[1]!.pending, ["stuck step"]);
  });

  it("exits 0 as soon as the stop path ends", async () => {
    const p = await spawnStopping("new Promise((resolve) => setTimeout(resolve, 100))", 60_000);
    p.child.kill("SIGINT");
    assert.equal(await p.exited, 0);
    assert.doesNotMatch(p.output(), /still pending/);
  });

  it("exits at once on a second signal", async () => {
    const p = await spawnStopping("new Promise(() => {})", 60_000);
    p.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    p.child.kill("SIGINT");
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /second signal during shutdown/);
    assert.match(p.output(), /"pending":\["stuck step"\]/);
  });
});
