/**
 * The gateway serves the web app: the page at each of its addresses, the script and stylesheet,
 * precompressed, with a Content-Security-Policy; without an API token even when the server wants
 * one (the /api calls carry it), but only for a known Host; and, when the bundle was never
 * built, a 503 that says how to build it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { loadConfig } from "../../../../services/common/config.ts";
import { createHttpApp } from "../../../../services/common/http.ts";
import { createLogger } from "../../../../services/common/logger.ts";
import { createMemoryBus } from "../../../../services/common/memory-bus.ts";
import { createGateway } from "../../../../services/gateway/index.ts";
import { PAGES } from "../../../../services/gateway/web/app/lib/pages.ts";
import { buildWebBundle } from "../../../../services/gateway/web/build.ts";
import { registerWebApp } from "../../../../services/gateway/web/plugin.ts";
import type { Service } from "../../../../services/common/service.ts";
import { scratchDirs } from "../../../helpers/temp.ts";

const TOKEN = "web-plugin-admin-token-0123456789";
const log = createLogger({ level: "silent" });
const scratch = scratchDirs("web-unbuilt");

describe("web app: served by the gateway", () => {
  let gateway: Service;
  before(async () => {
    await buildWebBundle();
    const config = loadConfig({ TGLENS_API_TOKEN: TOKEN, TGLENS_STORAGE_URL: "http://127.0.0.1:9", TGLENS_SCRAPER_URL: "http://127.0.0.1:9" });
    gateway = await createGateway({ bus: createMemoryBus(), log, config });
  });
  after(() => gateway?.app.close());
  const get = (url: string, headers: Record<string, string> = {}) => gateway.app.inject({ url, headers: { host: "127.0.0.1:8000", ...headers } });

  it("serves the page at each of its addresses, without a token, with its security headers", async () => {
    for (const at of [...Object.values(PAGES), "/?q=dentist&mode=hybrid", "/context?chat=1&message=2"]) {
      const res = await get(at);
      assert.equal(res.statusCode, 200, at);
      assert.match(String(res.headers["content-type"]), /^text\/html/, at);
      assert.match(res.body, /<script type="module" src="\/app\.js"><\/script>/, at);
      assert.match(String(res.headers["content-security-policy"]), /default-src 'none'.*script-src 'self'.*connect-src 'self'/);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
  });

  it("serves the script, stylesheet, icon and source map without a token, compressed when asked", async () => {
    const types = { "/app.js": /javascript/, "/app.css": /^text\/css/, "/icon.svg": /^image\/svg\+xml/, "/app.js.map": /json/ };
    for (const [file, type] of Object.entries(types)) {
      const res = await get(file);
      assert.equal(res.statusCode, 200, file);
      assert.match(String(res.headers["content-type"]), type, file);
    }
    const plain = await get("/app.js");
    const br = await get("/app.js", { "accept-encoding": "br, gzip" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.ok(br.rawPayload.length < plain.rawPayload.length / 2);
    assert.equal(zlib.brotliDecompressSync(br.rawPayload).toString("utf8"), plain.body);
    const gzip = await get("/app.css", { "accept-encoding": "gzip" });
    assert.equal(gzip.headers["content-encoding"], "gzip");
  });

  it("still wants the token for the API, and a known Host for the page", async () => {
    assert.equal((await get("/api/chats")).statusCode, 401);
    const elsewhere = await get("/", { host: "evil.example:8000" });
    assert.equal(elsewhere.statusCode, 403);
    assert.equal(elsewhere.json().error.code, "TGLENS_FORBIDDEN");
    assert.equal((await get("/app.js", { host: "evil.example" })).statusCode, 403);
  });

  it("answers other paths as before: not found, in the API's format", async () => {
    const res = await get("/nothing-here", { authorization: `Bearer ${TOKEN}` });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, "TGLENS_NOT_FOUND");
  });

  it("leaves the web app's routes out of the API description", async () => {
    const paths = Object.keys((await get("/openapi.json")).json().paths);
    assert.ok(!paths.includes("/") && !paths.includes("/app.js"), paths.join(" "));
  });
});

describe("web app: not built", () => {
  it("answers 503 TGLENS_NOT_READY saying how to build it", async () => {
    const { app } = await createHttpApp({ service: "telegram-bot", version: "0", description: "", log, bodyLimit: 1024 });
    await registerWebApp(app, { log, dir: scratch() });
    try {
      for (const url of ["/", "/app.js"]) {
        const res = await app.inject({ url, headers: { host: "localhost" } });
        assert.equal(res.statusCode, 503, url);
        assert.equal(res.json().error.code, "TGLENS_NOT_READY");
        assert.match(res.json().error.message, /npm run web:build/);
      }
    } finally {
      await app.close();
    }
  });
});
