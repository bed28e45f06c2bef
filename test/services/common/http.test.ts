import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { TglensError } from "../../../services/common/errors.ts";
import { createHttpApp } from "../../../services/common/http.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { captureLogs } from "../../helpers/logs.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { gzipSync, brotliCompressSync, deflateSync } from "node:zlib";
import type { AccessSettings } from "../../../services/common/access.ts";

async function app(ready = true) {
  const { app } = await createHttpApp({
    service: "test",
    version: "0",
    description: "test",
    log: createLogger({ level: "silent" }),
    bodyLimit: 1024,
    readiness: [{ name: "thing", check: async () => (ready ? true : "thing is down") }],
  });
  const received: unknown[] = [];
  app.post("/echo", { schema: { body: Type.Object({ texts: Type.Array(Type.String(), { minItems: 1 }) }) } }, async (req) => {
    received.push(req.body);
    return req.body;
  });
  return { app, received };
}

describe("http app", () => {
  it("serves health, ready, metrics, openapi and docs", async () => {
    const { app: a } = await app();
    assert.equal((await a.inject({ url: "/health" })).json().status, "ok");
    assert.equal((await a.inject({ url: "/ready" })).statusCode, 200);
    const metrics = await a.inject({ url: "/metrics" });
    assert.match(metrics.body, /process_cpu_user_seconds_total/);
    const spec = (await a.inject({ url: "/openapi.json" })).json();
    assert.equal(spec.openapi, "3.0.3");
    assert.ok(spec.paths["/echo"]);
    assert.equal((await a.inject({ url: "/docs/" })).statusCode, 200);
    await a.close();
  });

  it("answers 503 from /ready naming the dependency that is down", async () => {
    const { app: a } = await app(false);
    const res = await a.inject({ url: "/ready" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().checks.thing, "thing is down");
    await a.close();
  });

  const bad: [string, { payload: string | Buffer; headers?: Record<string, string> }, number, string][] = [
    ["malformed JSON", { payload: '{"texts": [' }, 400, "TGLENS_BAD_JSON"],
    ["an empty body", { payload: "" }, 400, "TGLENS_BAD_JSON"],
    [
      "invalid UTF-8",
      { payload: Buffer.concat([Buffer.from('{"texts": ["a'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]) },
      400,
      "TGLENS_BAD_UTF8",
    ],
    ["a missing field", { payload: "{}" }, 400, "TGLENS_BAD_REQUEST"],
    ["a field of the wrong type", { payload: '{"texts": "x"}' }, 400, "TGLENS_BAD_REQUEST"],
    ["an oversized body", { payload: JSON.stringify({ texts: ["x".repeat(2000)] }) }, 413, "TGLENS_PAYLOAD_TOO_LARGE"],
    ["a non-JSON content type", { payload: "texts=x", headers: { "content-type": "text/plain" } }, 415, "TGLENS_UNSUPPORTED_MEDIA_TYPE"],
  ];
  for (const [what, req, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code} and never reaches the handler`, async () => {
      const { app: a, received } = await app();
      const res = await a.inject({
        method: "POST",
        url: "/echo",
        headers: { "content-type": "application/json", ...req.headers },
        payload: req.payload,
      });
      assert.equal(res.statusCode, status);
      assert.equal(res.json().error.code, code);
      assert.ok(res.json().error.message.length > 0);
      assert.equal(received.length, 0);
      await a.close();
    });
  }

  it("names the field in a validation error", async () => {
    const { app: a } = await app();
    const missing = await a.inject({ method: "POST", url: "/echo", payload: {} });
    assert.match(missing.json().error.message, /texts/);
    const wrong = await a.inject({ method: "POST", url: "/echo", payload: { texts: [1] } });
    assert.equal(wrong.statusCode, 200, "numbers are coerced to strings");
    const empty = await a.inject({ method: "POST", url: "/echo", payload: { texts: [] } });
    assert.match(empty.json().error.message, /texts/);
    await a.close();
  });

  it("answers unknown routes with 404 TGLENS_NOT_FOUND", async () => {
    const { app: a } = await app();
    const res = await a.inject({ url: "/nope" });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, "TGLENS_NOT_FOUND");
    await a.close();
  });

  it("logs an expected refusal as a warning without a stack, and only an internal error with one", async () => {
    const logs = captureLogs();
    const { app: a } = await createHttpApp({
      service: "test",
      version: "0",
      description: "test",
      log: createLogger({ level: "info", destination: logs.stream }),
      bodyLimit: 1024,
    });
    a.get("/refuse", async () => {
      throw new TglensError("TGLENS_TELEGRAM_NOT_CONFIGURED", "live Telegram reading is not configured: TELEGRAM_API_ID is not set");
    });
    a.get("/not-found", async () => {
      throw new TglensError("TGLENS_NOT_FOUND", "no chat 777");
    });
    a.get("/bug", async () => {
      throw new TglensError("TGLENS_INTERNAL", "an invariant broke");
    });
    assert.equal((await a.inject({ url: "/refuse" })).json().error.code, "TGLENS_TELEGRAM_NOT_CONFIGURED");
    assert.equal((await a.inject({ url: "/not-found" })).statusCode, 404);
    assert.equal((await a.inject({ url: "/bug" })).statusCode, 500);
    await a.close();
    const lines = logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; err?: { stack?: string } });
    const refusal = lines.filter((l) => /not configured/.test(l.msg));
    assert.equal(refusal.length, 1);
    assert.equal(refusal[0]!.level, 40, "warn");
    assert.equal(refusal[0]!.code, "TGLENS_TELEGRAM_NOT_CONFIGURED");
    assert.doesNotMatch(JSON.stringify(refusal[0]), /\bat \S+ \(|stack/, "no stack trace");
    assert.equal(
      lines.some((l) => /no chat 777/.test(l.msg)),
      false,
      "a 4xx is the caller's business, not the log's",
    );
    const bug = lines.filter((l) => l.msg === "an invariant broke");
    assert.equal(bug.length, 1);
    assert.equal(bug[0]!.level, 50, "error");
    assert.match(bug[0]!.err?.stack ?? "", /\n\s+at /);
  });
});

/** An app with a read route and a write route that record what reached them. */
async function guarded(access?: AccessSettings, log = createLogger({ level: "silent" })) {
  const { app } = await createHttpApp({ service: "test", version: "0", description: "test", log, bodyLimit: 1024, access });
  const received: unknown[] = [];
  app.get("/thing", async () => ({ ok: true }));
  app.post("/echo", async (req) => {
    received.push(req.body);
    return req.body;
  });
  app.delete("/thing", async () => {
    received.push("deleted");
    return { deleted: true };
  });
  return { app, received };
}

describe("http app: what Node's parser refuses is answered in the one error shape", () => {
  const cases: [string, (host: string) => string, number, string][] = [
    [
      "a 100k-character query (headers too large)",
      (h) => `GET /thing?q=${"a".repeat(100_000)} HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
      431,
      "TGLENS_HEADERS_TOO_LARGE",
    ],
    [
      "a Content-Length that is not a number",
      (h) => `POST /echo HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
      400,
      "TGLENS_BAD_REQUEST",
    ],
    [
      "Content-Length beside Transfer-Encoding",
      (h) =>
        `POST /echo HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
      "TGLENS_BAD_REQUEST",
    ],
    ["a request line that is not HTTP", () => "HELLO THERE\r\n\r\n", 400, "TGLENS_BAD_REQUEST"],
    ["no Host header", () => "GET /thing HTTP/1.1\r\nConnection: close\r\n\r\n", 403, "TGLENS_FORBIDDEN"],
    ["a URL that does not decode", (h) => `GET /thing/%E0%A4%A HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`, 400, "TGLENS_BAD_REQUEST"],
  ];
  for (const [what, request, status, code] of cases) {
    it(`${what}: ${status} ${code}`, async () => {
      const { app: a, received } = await guarded();
      const url = await a.listen({ host: "127.0.0.1", port: 0 });
      try {
        const res = await rawRequest(url, request(new URL(url).host));
        assert.equal(res.status, status, res.body);
        assert.match(res.headers["content-type"] ?? "", /^application\/json/);
        const body = JSON.parse(res.body);
        assert.deepEqual(Object.keys(body), ["error"]);
        assert.equal(body.error.code, code);
        assert.ok(body.error.message.length > 0);
        assert.equal(received.length, 0);
      } finally {
        await a.close();
      }
    });
  }
});

describe("http app: compressed bodies", () => {
  const body = JSON.stringify({ texts: ["grüße", "hello"] });
  for (const [coding, encode] of [
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const) {
    it(`decodes a ${coding} body and reads it as if it were plain`, async () => {
      const { app: a, received } = await guarded();
      const res = await a.inject({
        method: "POST",
        url: "/echo",
        headers: { "content-type": "application/json", "content-encoding": coding },
        payload: encode(Buffer.from(body)),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(received, [JSON.parse(body)]);
      await a.close();
    });
  }

  it("applies the body limit to the decoded size (a small gzip that inflates past it is 413)", async () => {
    const bomb = gzipSync(Buffer.from(JSON.stringify({ texts: [" ".repeat(1_000_000)] })));
    assert.ok(bomb.length < 1024, "the compressed body is under the limit");
    const { app: a, received } = await guarded();
    const res = await a.inject({
      method: "POST",
      url: "/echo",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      payload: bomb,
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, "TGLENS_PAYLOAD_TOO_LARGE");
    assert.equal(received.length, 0);
    await a.close();
  });

  const refused: [string, Record<string, string>, Buffer, number, string][] = [
    ["a body that is not the gzip it claims", { "content-encoding": "gzip" }, Buffer.from(body), 400, "TGLENS_BAD_REQUEST"],
    ["a truncated gzip body", { "content-encoding": "gzip" }, gzipSync(Buffer.from(body)).subarray(0, 20), 400, "TGLENS_BAD_REQUEST"],
    ["an encoding it does not decode (zstd)", { "content-encoding": "zstd" }, Buffer.from(body), 415, "TGLENS_UNSUPPORTED_MEDIA_TYPE"],
    [
      "two encodings in a row",
      { "content-encoding": "gzip, br" },
      brotliCompressSync(gzipSync(Buffer.from(body))),
      415,
      "TGLENS_UNSUPPORTED_MEDIA_TYPE",
    ],
  ];
  for (const [what, headers, payload, status, code] of refused) {
    it(`refuses ${what} with ${status} ${code}, never misreading it`, async () => {
      const { app: a, received } = await guarded();
      const res = await a.inject({ method: "POST", url: "/echo", headers: { "content-type": "application/json", ...headers }, payload });
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error.code, code);
      assert.equal(received.length, 0);
      await a.close();
    });
  }
});

describe("http app: access", () => {
  const ADMIN = "admin-token-0123456789abcdef";
  const READ = "read-token-0123456789abcdef";
  const tokens: AccessSettings = { adminToken: ADMIN, readToken: READ, allowedHosts: ["tglens.example.com"] };
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const json = { "content-type": "application/json" };

  it("refuses an unknown Host header (DNS rebinding), for reads and writes alike, but not /health", async () => {
    const { app: a, received } = await guarded();
    for (const [method, url] of [
      ["GET", "/thing"],
      ["POST", "/echo"],
      ["DELETE", "/thing"],
      ["GET", "/metrics"],
    ] as const) {
      const res = await a.inject({ method, url, headers: { host: "evil.example:8000", ...json }, payload: method === "POST" ? "{}" : undefined });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().error.code, "TGLENS_FORBIDDEN");
    }
    assert.equal(received.length, 0);
    assert.equal((await a.inject({ url: "/health", headers: { host: "evil.example" } })).statusCode, 200);
    for (const host of ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"]) {
      assert.equal((await a.inject({ url: "/thing", headers: { host } })).statusCode, 200, host);
    }
    await a.close();
  });

  it("answers the names it is configured with (TGLENS_ALLOWED_HOSTS, service URLs), any port", async () => {
    const { app: a } = await guarded({ adminToken: undefined, readToken: undefined, allowedHosts: ["storage"] });
    assert.equal((await a.inject({ url: "/thing", headers: { host: "storage:8004" } })).statusCode, 200);
    assert.equal((await a.inject({ url: "/thing", headers: { host: "storage.evil.example" } })).statusCode, 403);
    await a.close();
  });

  it("refuses a change from another origin or another site's page, and accepts its own origin", async () => {
    const { app: a, received } = await guarded();
    const host = { host: "127.0.0.1:8000" };
    for (const headers of [
      { origin: "http://evil.example" },
      { origin: "http://127.0.0.1:9999" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
    ]) {
      const post = await a.inject({ method: "POST", url: "/echo", headers: { ...host, ...json, ...headers }, payload: "{}" });
      assert.equal(post.statusCode, 403, JSON.stringify(headers));
      assert.equal(post.json().error.code, "TGLENS_FORBIDDEN");
      const del = await a.inject({ method: "DELETE", url: "/thing", headers: { ...host, ...headers } });
      assert.equal(del.statusCode, 403, JSON.stringify(headers));
    }
    assert.equal(received.length, 0);
    const own = await a.inject({
      method: "POST",
      url: "/echo",
      headers: { ...host, ...json, origin: "http://127.0.0.1:8000", "sec-fetch-site": "same-origin" },
      payload: "{}",
    });
    assert.equal(own.statusCode, 200);
    // A read from another origin is not a change (and a browser keeps the answer from that page).
    assert.equal((await a.inject({ url: "/thing", headers: { ...host, origin: "http://evil.example" } })).statusCode, 200);
    await a.close();
  });

  it("needs a JSON content type for a POST: none or text/plain (a blind form) is 415", async () => {
    const { app: a, received } = await guarded();
    for (const headers of [
      {},
      { "content-type": "text/plain" },
      { "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "multipart/form-data; boundary=x" },
    ]) {
      const res = await a.inject({ method: "POST", url: "/echo", headers, payload: '{"texts":["x"]}' });
      assert.equal(res.statusCode, 415, JSON.stringify(headers));
      assert.equal(res.json().error.code, "TGLENS_UNSUPPORTED_MEDIA_TYPE");
    }
    const empty = await a.inject({ method: "POST", url: "/echo" });
    assert.equal(empty.statusCode, 415);
    assert.equal(received.length, 0);
    assert.equal(
      (await a.inject({ method: "POST", url: "/echo", headers: { "content-type": "application/json; charset=utf-8" }, payload: "{}" })).statusCode,
      200,
    );
    await a.close();
  });

  it("with tokens: none or a wrong one is 401, the read token reads but cannot change (403), the admin token does both", async () => {
    const { app: a, received } = await guarded(tokens);
    const none = await a.inject({ url: "/thing" });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, "TGLENS_UNAUTHORIZED");
    assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
    for (const authorization of [`Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(0, -1)}`, ADMIN, `Basic ${ADMIN}`, "Bearer "]) {
      const res = await a.inject({ url: "/thing", headers: { authorization } });
      assert.equal(res.statusCode, 401, authorization);
      assert.equal(res.json().error.code, "TGLENS_UNAUTHORIZED");
      assert.doesNotMatch(res.body, new RegExp(ADMIN.slice(0, 10)), "the answer never echoes a token");
    }
    assert.equal((await a.inject({ url: "/thing", headers: auth(READ) })).statusCode, 200);
    assert.equal((await a.inject({ url: "/metrics", headers: auth(READ) })).statusCode, 200);
    assert.equal((await a.inject({ url: "/metrics" })).statusCode, 401);
    for (const [method, url] of [
      ["POST", "/echo"],
      ["DELETE", "/thing"],
    ] as const) {
      const res = await a.inject({ method, url, headers: { ...auth(READ), ...json }, payload: method === "POST" ? "{}" : undefined });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().error.code, "TGLENS_FORBIDDEN");
      const anon = await a.inject({ method, url, headers: json, payload: method === "POST" ? "{}" : undefined });
      assert.equal(anon.statusCode, 401);
    }
    assert.equal(received.length, 0);
    assert.equal((await a.inject({ method: "POST", url: "/echo", headers: { ...auth(ADMIN), ...json }, payload: "{}" })).statusCode, 200);
    assert.equal((await a.inject({ method: "DELETE", url: "/thing", headers: { authorization: `bearer ${ADMIN}` } })).statusCode, 200);
    assert.deepEqual(received, [{}, "deleted"]);
    // Probes and the API's description stay reachable without a token.
    assert.equal((await a.inject({ url: "/health" })).statusCode, 200);
    assert.equal((await a.inject({ url: "/ready" })).statusCode, 200);
    const spec = await a.inject({ url: "/openapi.json" });
    assert.equal(spec.statusCode, 200);
    assert.deepEqual(spec.json().components.securitySchemes.bearer, {
      type: "http",
      scheme: "bearer",
      description: spec.json().components.securitySchemes.bearer.description,
    });
    assert.equal((await a.inject({ url: "/docs/" })).statusCode, 200);
    await a.close();
  });

  it("never writes a token to the log, whatever carries it", async () => {
    const logs = captureLogs();
    const { app: a } = await guarded(tokens, createLogger({ level: "trace", destination: logs.stream }));
    a.get("/careless", async (req) => {
      req.log.info({ headers: req.headers, given: req.headers.authorization }, `called with ${req.headers.authorization}`);
      throw new Error(`failed for ${req.headers.authorization}`);
    });
    await a.inject({ url: "/careless", headers: auth(ADMIN) });
    await a.inject({ url: "/careless", headers: auth(READ) });
    await a.inject({ url: "/thing", headers: auth(`${ADMIN}-wrong`) });
    await a.close();
    const all = logs.lines.join("");
    assert.match(all, /called with Bearer \[REDACTED\]/, "the line was written, scrubbed");
    assert.doesNotMatch(all, new RegExp(ADMIN));
    assert.doesNotMatch(all, new RegExp(READ));
  });
});
