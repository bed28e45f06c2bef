import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../services/common/config.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createGateway } from "../../../services/telegram-bot/index.ts";
import { freePort } from "../../helpers/system.ts";

describe("gateway", () => {
  it("is alive but not ready while the services behind it are down, and says which", async () => {
    const port = await freePort();
    const config = loadConfig({ TGLENS_STORAGE_URL: `http://127.0.0.1:${port}`, TGLENS_SCRAPER_URL: `http://127.0.0.1:${port}`, TGLENS_EMBEDDER_URL: `http://127.0.0.1:${port}`, TGLENS_PREPROCESSOR_URL: `http://127.0.0.1:${port}` });
    const gateway = await createGateway({ log: createLogger({ level: "silent" }), config });
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
