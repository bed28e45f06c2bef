/**
 * Stopping a service ends even while one of its requests cannot finish: here the gateway is
 * forwarding a search to a storage that accepted the connection and never answers.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { buildService, runService, stopService } from "../../../services/run/build.ts";
import { testConfig } from "../../helpers/system.ts";

/** The requirement for a whole process is 10 s; this is a liveness check, not a benchmark. */
const STOP_LIMIT_MS = 15_000;

describe("stopService", { timeout: 60_000 }, () => {
  it("closes the HTTP server while a request is still waiting on its upstream", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const config = await testConfig({ TGLENS_STORAGE_URL: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` });
    const bus = createMemoryBus();
    const gateway = await buildService("telegram-bot", { bus, config, log: createLogger({ level: "silent" }) });
    try {
      await runService(gateway, config);
      const search = fetch(`${config.urls["telegram-bot"]}/api/search?q=venue`).then(
        (res) => res.status,
        () => "reset",
      );
      while (sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stopService(gateway).then(() => "stopped"),
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_LIMIT_MS, "still stopping"))),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, "stopped", `stopService did not end within ${STOP_LIMIT_MS} ms`);
      assert.ok(Date.now() - t0 < STOP_LIMIT_MS);
      // The caller is told the server went away rather than left waiting.
      assert.equal(await search, "reset");
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await bus.close();
    }
  });
});
