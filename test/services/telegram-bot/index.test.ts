import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
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

/** A stand-in storage service: answers every request with `answer` and records what it was asked. */
async function fakeUpstream(answer: (req: IncomingMessage) => { status: number; body: unknown }) {
  const seen: Array<{ method: string; url: string }> = [];
  /** The Authorization header of each request, in order. */
  const auth: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url! });
    auth.push(req.headers.authorization);
    req.resume();
    const { status, body } = answer(req);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, auth, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("gateway: chat statistics", () => {
  it("forwards GET /api/chats/:id/stats to storage, keeping status, body and query", async () => {
    const stats = { chat_id: "-100123", name: "Crew", username: "crew", messages: 3, top_senders: [{ sender: "Ann", sender_id: "user1", messages: 3 }] };
    const upstream = await fakeUpstream((req) =>
      req.url!.startsWith("/chats/-100123/") ? { status: 200, body: stats } : { status: 404, body: { error: { code: "TGLENS_NOT_FOUND", message: "no chat 777" } } },
    );
    const config = loadConfig({ TGLENS_STORAGE_URL: upstream.url });
    const gateway = await createGateway({ log: createLogger({ level: "silent" }), config });
    try {
      const ok = await gateway.app.inject({ url: "/api/chats/-100123/stats?fresh=1" });
      assert.equal(ok.statusCode, 200);
      assert.match(String(ok.headers["content-type"]), /^application\/json/);
      assert.deepEqual(ok.json(), stats);
      const missing = await gateway.app.inject({ url: "/api/chats/777/stats" });
      assert.equal(missing.statusCode, 404);
      assert.deepEqual(missing.json(), { error: { code: "TGLENS_NOT_FOUND", message: "no chat 777" } });
      // An id is one path segment upstream, whatever it holds.
      await gateway.app.inject({ url: "/api/chats/a%2Fb/stats" });
      assert.deepEqual(upstream.seen, [
        { method: "GET", url: "/chats/-100123/stats?fresh=1" },
        { method: "GET", url: "/chats/777/stats" },
        { method: "GET", url: "/chats/a%2Fb/stats" },
      ]);
      const spec = (await gateway.app.inject({ url: "/openapi.json" })).json();
      assert.ok(spec.paths["/api/chats/{id}/stats"]?.get?.summary, "documented in the gateway's OpenAPI");
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });
});

describe("gateway: access", () => {
  const ADMIN = "gateway-admin-token-0123456789";
  const READ = "gateway-read-token-0123456789";

  it("checks the caller's rights, then calls the services with its own admin token", async () => {
    const upstream = await fakeUpstream(() => ({ status: 200, body: { results: [], chats: [] } }));
    const config = loadConfig({ TGLENS_STORAGE_URL: upstream.url, TGLENS_SCRAPER_URL: upstream.url, TGLENS_API_TOKEN: ADMIN, TGLENS_API_READ_TOKEN: READ });
    const gateway = await createGateway({ log: createLogger({ level: "silent" }), config });
    try {
      const read = { authorization: `Bearer ${READ}` };
      assert.equal((await gateway.app.inject({ url: "/api/search?q=x", headers: read })).statusCode, 200);
      assert.deepEqual(upstream.auth, [`Bearer ${ADMIN}`], "storage is called with the gateway's token, not the caller's");
      const refused = [
        await gateway.app.inject({ url: "/api/chats" }),
        await gateway.app.inject({ url: "/api/chats", headers: { authorization: "Bearer wrong-token-0123456789" } }),
        await gateway.app.inject({ method: "DELETE", url: "/api/chats/42", headers: read }),
        await gateway.app.inject({ method: "POST", url: "/api/scrape", headers: { ...read, "content-type": "application/json" }, payload: { export_path: "x.json" } }),
      ];
      assert.deepEqual(
        refused.map((r) => [r.statusCode, r.json().error.code]),
        [[401, "TGLENS_UNAUTHORIZED"], [401, "TGLENS_UNAUTHORIZED"], [403, "TGLENS_FORBIDDEN"], [403, "TGLENS_FORBIDDEN"]],
      );
      assert.equal(upstream.seen.length, 1, "nothing refused reached a service");
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });

  it("answers POST /api/scrape without a body with 400 TGLENS_BAD_JSON (415 without a content type), not a 500", async () => {
    const upstream = await fakeUpstream(() => ({ status: 500, body: {} }));
    const gateway = await createGateway({ log: createLogger({ level: "silent" }), config: loadConfig({ TGLENS_SCRAPER_URL: upstream.url }) });
    try {
      const none = await gateway.app.inject({ method: "POST", url: "/api/scrape" });
      assert.equal(none.statusCode, 415);
      assert.equal(none.json().error.code, "TGLENS_UNSUPPORTED_MEDIA_TYPE");
      const empty = await gateway.app.inject({ method: "POST", url: "/api/scrape", headers: { "content-type": "application/json", "content-length": "0" } });
      assert.equal(empty.statusCode, 400, empty.body);
      assert.equal(empty.json().error.code, "TGLENS_BAD_JSON");
      const text = await gateway.app.inject({ method: "POST", url: "/api/scrape", headers: { "content-type": "text/plain" }, payload: "{}" });
      assert.equal(text.statusCode, 415);
      assert.deepEqual(upstream.seen, []);
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });
});
