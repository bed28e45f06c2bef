import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { createHttpApp } from "../../../services/common/http.ts";
import { createLogger } from "../../../services/common/logger.ts";

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
    ["invalid UTF-8", { payload: Buffer.concat([Buffer.from('{"texts": ["a'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]) }, 400, "TGLENS_BAD_UTF8"],
    ["a missing field", { payload: "{}" }, 400, "TGLENS_BAD_REQUEST"],
    ["a field of the wrong type", { payload: '{"texts": "x"}' }, 400, "TGLENS_BAD_REQUEST"],
    ["an oversized body", { payload: JSON.stringify({ texts: ["x".repeat(2000)] }) }, 413, "TGLENS_PAYLOAD_TOO_LARGE"],
    ["a non-JSON content type", { payload: "texts=x", headers: { "content-type": "text/plain" } }, 415, "TGLENS_UNSUPPORTED_MEDIA_TYPE"],
  ];
  for (const [what, req, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code} and never reaches the handler`, async () => {
      const { app: a, received } = await app();
      const res = await a.inject({ method: "POST", url: "/echo", headers: { "content-type": "application/json", ...req.headers }, payload: req.payload });
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
});
