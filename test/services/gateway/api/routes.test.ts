/**
 * The gateway's /api routes: each forwards to its service and hands the answer back byte for byte
 * (status, content type, Retry-After, body — fields its schemas do not name included), leaves
 * validation to the service (a bad parameter gets the service's own answer), and is documented
 * in /openapi.json with the service's parameters and statuses.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../../../services/common/config.ts";
import { createLogger } from "../../../../services/common/logger.ts";
import { createMemoryBus } from "../../../../services/common/memory-bus.ts";
import { createGateway } from "../../../../services/gateway/index.ts";
import { buildService, stopService } from "../../../../services/run/build.ts";
import { fakeUpstream } from "../../../helpers/fake-upstream.ts";
import { testConfig } from "../../../helpers/system.ts";

const silent = createLogger({ level: "silent" });
const NOT_FOUND = { error: { code: "TGLENS_NOT_FOUND", message: "no chat 777" } };

describe("gateway /api: forwarding", () => {
  it("forwards GET /api/chats/:id/stats to storage, keeping status, body and query", async () => {
    const stats = {
      chat_id: "-100123",
      name: "Crew",
      username: "crew",
      messages: 3,
      top_senders: [{ sender: "Ann", sender_id: "user1", messages: 3 }],
    };
    const upstream = await fakeUpstream((req) =>
      req.url!.startsWith("/chats/-100123/") ? { status: 200, body: stats } : { status: 404, body: NOT_FOUND },
    );
    const gateway = await createGateway({ bus: createMemoryBus(), log: silent, config: loadConfig({ TGLENS_STORAGE_URL: upstream.url }) });
    try {
      const ok = await gateway.app.inject({ url: "/api/chats/-100123/stats?fresh=1" });
      assert.equal(ok.statusCode, 200);
      assert.match(String(ok.headers["content-type"]), /^application\/json/);
      assert.deepEqual(ok.json(), stats);
      const missing = await gateway.app.inject({ url: "/api/chats/777/stats" });
      assert.equal(missing.statusCode, 404);
      assert.deepEqual(missing.json(), NOT_FOUND);
      // An id is one path segment upstream, whatever it holds.
      await gateway.app.inject({ url: "/api/chats/a%2Fb/stats" });
      assert.deepEqual(
        upstream.seen.map(({ method, url }) => ({ method, url })),
        [
          { method: "GET", url: "/chats/-100123/stats?fresh=1" },
          { method: "GET", url: "/chats/777/stats" },
          { method: "GET", url: "/chats/a%2Fb/stats" },
        ],
      );
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });

  it("hands every answer back byte for byte, fields its schemas do not name and Retry-After included", async () => {
    // Spacing, key order and an extra field the schemas do not name: none of it may change.
    const answers: Record<string, { status: number; body: string; headers?: Record<string, string> }> = {
      "GET /search?q=x": { status: 200, body: '{"results":[{"chat_id":"1","score":0.5,"future_field":true}],  "took_ms":3}' },
      "GET /chats": { status: 200, body: '{"chats":[],"extra":{"nested":[1,2]}}' },
      "GET /jobs/j1": { status: 200, body: '{"job_id":"j1","state":"running","counters":{"new_counter":4}}' },
      "GET /jobs": { status: 200, body: '{"jobs":[{"job_id":"j1","shape":"not a job status"}]}' },
      "POST /scrape": { status: 202, body: '{"job_id":"j2","chat":"@crew","queued_behind":0}' },
      "GET /chats/9": { status: 429, body: '{"error":{"code":"TGLENS_BUSY","message":"later","retry_in":5}}', headers: { "retry-after": "5" } },
    };
    const upstream = await fakeUpstream((req) => answers[`${req.method} ${req.url}`] ?? { status: 500, body: "{}" });
    const gateway = await createGateway({
      bus: createMemoryBus(),
      log: silent,
      config: loadConfig({ TGLENS_STORAGE_URL: upstream.url, TGLENS_SCRAPER_URL: upstream.url }),
    });
    try {
      for (const [call, expected] of Object.entries(answers)) {
        const [method, path] = call.split(" ") as ["GET" | "POST", string];
        const res = await gateway.app.inject({
          method,
          url: `/api${path}`,
          ...(method === "POST" ? { headers: { "content-type": "application/json" }, payload: '{"chat":"@crew"}' } : {}),
        });
        assert.equal(res.statusCode, expected.status, call);
        assert.equal(res.body, expected.body, call);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8", call);
        assert.equal(res.headers["retry-after"], expected.headers?.["retry-after"], call);
      }
      assert.equal(upstream.seen.find((r) => r.method === "POST")?.body, '{"chat":"@crew"}', "the body reaches the scraper as it was sent");
    } finally {
      await gateway.app.close();
      await upstream.close();
    }
  });

  it("answers POST /api/scrape without a body with 400 TGLENS_BAD_JSON (415 without a content type), not a 500", async () => {
    const upstream = await fakeUpstream(() => ({ status: 500, body: {} }));
    const gateway = await createGateway({ bus: createMemoryBus(), log: silent, config: loadConfig({ TGLENS_SCRAPER_URL: upstream.url }) });
    try {
      const none = await gateway.app.inject({ method: "POST", url: "/api/scrape" });
      assert.equal(none.statusCode, 415);
      assert.equal(none.json().error.code, "TGLENS_UNSUPPORTED_MEDIA_TYPE");
      const empty = await gateway.app.inject({
        method: "POST",
        url: "/api/scrape",
        headers: { "content-type": "application/json", "content-length": "0" },
      });
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

describe("gateway /api: validation is storage's", () => {
  it("answers a bad search query, and a forget of a bad chat id, with the very body storage gives", async () => {
    const config = await testConfig();
    const bus = createMemoryBus();
    const storage = await buildService("storage", { bus, config, log: silent });
    await storage.app.listen({ host: "127.0.0.1", port: config.ports.storage });
    const gateway = await createGateway({ bus, log: silent, config });
    try {
      const queries = ["q=x&k=0", "q=x&k=abc", "q=x&k=101", "k=3", "q=x&mode=fuzzy", "q=x&chat=abc", "q=x&unknown=1", "q=&k=2", "q=x&from=someday"];
      for (const query of queries) {
        const direct = await storage.app.inject({ url: `/search?${query}` });
        const through = await gateway.app.inject({ url: `/api/search?${query}` });
        assert.equal(direct.statusCode, 400, `${query}: ${direct.body}`);
        assert.equal(through.statusCode, direct.statusCode, query);
        assert.equal(through.body, direct.body, query);
      }
      // A chat's messages: the refusals of a bad combination and of an unknown chat are storage's too.
      for (const query of ["around=1&from=2024-05-01", "from=2024-05-01&before=2", "around=1&limit=5", "around=x", "from=someday"]) {
        const direct = await storage.app.inject({ url: `/chats/-100123/messages?${query}` });
        const through = await gateway.app.inject({ url: `/api/chats/-100123/messages?${query}` });
        assert.equal(direct.statusCode, 400, `${query}: ${direct.body}`);
        assert.deepEqual([through.statusCode, through.body], [direct.statusCode, direct.body], query);
      }
      const unknown = await gateway.app.inject({ url: "/api/chats/777/messages?around=1" });
      assert.deepEqual([unknown.statusCode, unknown.json()], [404, NOT_FOUND]);
      const k0 = await gateway.app.inject({ url: "/api/search?q=x&k=0" });
      assert.deepEqual(k0.json(), { error: { code: "TGLENS_BAD_REQUEST", message: "querystring.k must be >= 1" } });
      // A forget is the gateway's own, but storage checks the chat id first: its very refusal.
      const direct = await storage.app.inject({ url: "/chats/kreuzberg" });
      const forget = await gateway.app.inject({ method: "DELETE", url: "/api/chats/kreuzberg" });
      assert.equal(direct.statusCode, 400);
      assert.deepEqual([forget.statusCode, forget.json()], [400, direct.json()]);
    } finally {
      await gateway.app.close();
      await stopService(storage);
      await bus.close();
      await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });
    }
  });
});

describe("gateway /api: documentation", () => {
  it("lists the upstream's parameters, bodies and real statuses for every /api route", async () => {
    const gateway = await createGateway({ bus: createMemoryBus(), log: silent, config: loadConfig({}) });
    try {
      const spec = (await gateway.app.inject({ url: "/openapi.json" })).json();
      const search = spec.paths["/api/search"].get;
      const params = Object.fromEntries(search.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, [p.in, p.required]]));
      assert.deepEqual(params, {
        q: ["query", true],
        k: ["query", false],
        chat: ["query", false],
        sender: ["query", false],
        from: ["query", false],
        to: ["query", false],
        mode: ["query", false],
      });
      const defaults = Object.fromEntries(search.parameters.map((p: { name: string; schema: { default?: unknown } }) => [p.name, p.schema.default]));
      assert.deepEqual([defaults.k, defaults.mode], [10, "semantic"], "the defaults storage applies");
      assert.deepEqual(Object.keys(search.responses), ["200", "400", "401", "403", "429", "502", "503"]);
      assert.ok(search.responses["200"].content["application/json"].schema.properties.results.items.properties.score, "the results' fields");

      const scrape = spec.paths["/api/scrape"].post;
      assert.deepEqual(Object.keys(scrape.responses), ["202", "400", "401", "403", "404", "408", "413", "415", "422", "429", "502", "503"]);
      assert.ok(scrape.requestBody.content["application/json"].schema.anyOf.length >= 3, "export, export_path or chat");
      const accepted = scrape.responses["202"].content["application/json"].schema.anyOf;
      const has = (field: string) => accepted.some((s: { properties: object }) => field in s.properties);
      assert.ok(has("messages") && has("chat"), "an export's answer and a live read's");

      const errorRef = spec.paths["/api/chats/{id}"].get.responses["404"].content["application/json"].schema.$ref;
      assert.ok(spec.components.schemas[errorRef.split("/").pop()].properties.error, "errors are the one ErrorResponse");
      assert.deepEqual(
        spec.paths["/api/chats/{id}"].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
        ["path:id"],
      );
      assert.ok(spec.paths["/api/jobs/{id}"].get.responses["200"].content["application/json"].schema.properties.counters.properties.stored);
      const messages = spec.paths["/api/chats/{id}/messages"].get;
      assert.deepEqual(messages.parameters.map((p: { name: string; in: string; required: boolean }) => `${p.in}:${p.name}:${p.required}`).sort(), [
        "path:id:true",
        "query:after:false",
        "query:around:false",
        "query:before:false",
        "query:from:false",
        "query:limit:false",
      ]);
      assert.deepEqual(Object.keys(messages.responses), ["200", "400", "401", "403", "404", "502"]);
      const answer = messages.responses["200"].content["application/json"].schema.properties;
      assert.ok(answer.messages.items.properties.link && answer.messages.items.properties.is_target && answer.before.properties.more);
      assert.ok(search.responses["200"].content["application/json"].schema.properties.results.items.properties.link, "search results' links");

      type Operation = { responses: Record<string, { description: string }> };
      for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, Operation>>)) {
        if (!path.startsWith("/api/")) continue;
        for (const [method, op] of Object.entries(ops)) {
          for (const [status, { description }] of Object.entries(op.responses)) {
            assert.notEqual(description, "Default Response", `${method} ${path} ${status}`);
          }
        }
      }
    } finally {
      await gateway.app.close();
    }
  });
});
