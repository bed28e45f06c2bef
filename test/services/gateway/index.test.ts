/**
 * The gateway as a whole: its readiness names the services behind it, and the caller's rights are
 * checked before anything is forwarded (the /api routes themselves: api/routes.test.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../services/common/config.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import { createGateway } from "../../../services/gateway/index.ts";
import { fakeUpstream } from "../../helpers/fake-upstream.ts";
import { freePort } from "../../helpers/system.ts";

describe("gateway", () => {
  it("is alive but not ready while the services behind it are down, and says which", async () => {
    const port = await freePort();
    const config = loadConfig({
      TGLENS_STORAGE_URL: `http://127.0.0.1:${port}`,
      TGLENS_SCRAPER_URL: `http://127.0.0.1:${port}`,
      TGLENS_EMBEDDER_URL: `http://127.0.0.1:${port}`,
      TGLENS_PREPROCESSOR_URL: `http://127.0.0.1:${port}`,
    });
    const gateway = await createGateway({ bus: createMemoryBus(), log: createLogger({ level: "silent" }), config });
    assert.equal((await gateway.app.inject({ url: "/health" })).statusCode, 200);
    const ready = await gateway.app.inject({ url: "/ready" });
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().checks.storage, /unreachable/);
    const search = await gateway.app.inject({ url: "/api/search?q=x" });
    assert.equal(search.statusCode, 502);
    assert.equal(search.json().error.code, "TGLENS_UPSTREAM");
    await gateway.app.close();
  });
});

describe("gateway: access", () => {
  const ADMIN = "gateway-admin-token-0123456789";
  const READ = "gateway-read-token-0123456789";

  it("checks the caller's rights, then calls the services with its own admin token", async () => {
    const upstream = await fakeUpstream(() => ({ status: 200, body: { results: [], chats: [] } }));
    const config = loadConfig({
      TGLENS_STORAGE_URL: upstream.url,
      TGLENS_SCRAPER_URL: upstream.url,
      TGLENS_API_TOKEN: ADMIN,
      TGLENS_API_READ_TOKEN: READ,
    });
    const gateway = await createGateway({ bus: createMemoryBus(), log: createLogger({ level: "silent" }), config });
    try {
      const read = { authorization: `Bearer ${READ}` };
      assert.equal((await gateway.app.inject({ url: "/api/search?q=x", headers: read })).statusCode, 200);
      assert.deepEqual(
        upstream.seen.map((r) => r.authorization),
        [`Bearer ${ADMIN}`],
        "storage is called with the gateway's token, not the caller's",
      );
      const refused = [
        await gateway.app.inject({ url: "/api/chats" }),
        await gateway.app.inject({ url: "/api/chats", headers: { authorization: "Bearer wrong-token-0123456789" } }),
        await gateway.app.inject({ method: "DELETE", url: "/api/chats/42", headers: read }),
        await gateway.app.inject({
          method: "POST",
          url: "/api/scrape",
          headers: { ...read, "content-type": "application/json" },
          payload: { export_path: "x.json" },
        }),
      ];
      assert.deepEqual(
        refused.map((r) => [r.statusCode, r.json().error.code]),
        [
          [401, "TGLENS_UNAUTHORIZED"],
          [401, "TGLENS_UNAUTHORIZED"],
          [403, "TGLENS_FORBIDDEN"],
          [403, "TGLENS_FORBIDDEN"],
        ],
      );
      assert.equal(upstream.seen.length, 1, "nothing refused reached a service");
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });
});
