/**
 * Access control end to end, on a real embedded tglens with API tokens: what a stranger (another
 * Host, another origin, no or a wrong token, a read-only token) sends to the gateway or straight
 * to an internal service is refused before anything happens — no chat forgotten, no job, no
 * upload file — while the CLI's client, the bot's backend and a gzip upload work with the token.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { GatewayClient } from "../../cli/client.ts";
import { uploadsDir } from "../../services/common/data-files.ts";
import { createLogger } from "../../services/common/logger.ts";
import { startEmbedded, type EmbeddedSystem } from "../../services/run/embedded.ts";
import { httpBackend } from "../../services/gateway/bot/backend.ts";
import { rejectsWith } from "../helpers/errors.ts";
import { captureLogs } from "../helpers/logs.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { snapshotDir, testConfig } from "../helpers/system.ts";
import { TEAM_CHAT_EXPORT } from "../helpers/fixtures.ts";

const TEAM = TEAM_CHAT_EXPORT;
const TEAM_ID = "1498765432";
const ADMIN = "e2e-admin-token-4f1c9b2a7d3e8f60";
const READ = "e2e-read-token-9a8b7c6d5e4f3a2b";

describe("access control, end to end", { timeout: 600_000 }, () => {
  const logs = captureLogs();
  let system: EmbeddedSystem;
  let gateway: string;
  let exportBody: Buffer;
  /** What the server said of the plain import: a compressed one must say the same. */
  let plain: { messages: number; skipped: number };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    const config = await testConfig({ TGLENS_API_TOKEN: ADMIN, TGLENS_API_READ_TOKEN: READ });
    system = await startEmbedded(config, createLogger({ level: "debug", destination: logs.stream }));
    gateway = config.urls["telegram-bot"];
    exportBody = await fs.readFile(TEAM);
    const client = new GatewayClient(gateway, ADMIN);
    const accepted = await client.importFile(TEAM);
    plain = { messages: accepted.messages, skipped: accepted.skipped };
    const job = await client.waitForJob(accepted.job_id, () => {});
    assert.equal(job.state, "done", JSON.stringify(job));
  });
  after(async () => {
    await system?.close();
    if (system) await fs.rm(path.dirname(system.config.dataDir), { recursive: true, force: true });
  });

  /** What a refusal must leave as it was: the chat, the jobs, the upload directory. */
  async function state() {
    const chats = await (await fetch(`${gateway}/api/chats`, { headers: bearer(READ) })).json();
    const jobs = (await (await fetch(`${gateway}/api/jobs`, { headers: bearer(READ) })).json()) as { jobs: { job_id: string }[] };
    return { chats, jobs: jobs.jobs.map((j) => j.job_id), uploads: await snapshotDir(uploadsDir(system.config.dataDir)) };
  }

  it("refuses a stranger's import and forget (Host, Origin, Sec-Fetch-Site, content type, tokens), changing nothing", async () => {
    const before = await state();
    assert.equal((before.chats as { chats: { chat_id: string; messages: number }[] }).chats.find((c) => c.chat_id === TEAM_ID)?.messages, 366);
    const here = new URL(gateway).host;
    const json = { "content-type": "application/json" };
    const attempts: [string, string, Record<string, string>, number, string][] = [
      // The case: a page on evil.example, reached by DNS rebinding, posting blind.
      ["POST", "/api/scrape", { host: "evil.example", origin: "http://evil.example" }, 403, "TGLENS_FORBIDDEN"],
      ["POST", "/api/scrape", { host: "evil.example:8000", ...json, ...bearer(ADMIN) }, 403, "TGLENS_FORBIDDEN"],
      ["POST", "/api/scrape", { origin: "http://evil.example", ...json, ...bearer(ADMIN) }, 403, "TGLENS_FORBIDDEN"],
      ["POST", "/api/scrape", { origin: `http://${here}`, "sec-fetch-site": "cross-site", ...json, ...bearer(ADMIN) }, 403, "TGLENS_FORBIDDEN"],
      ["POST", "/api/scrape", { ...bearer(ADMIN) }, 415, "TGLENS_UNSUPPORTED_MEDIA_TYPE"],
      ["POST", "/api/scrape", { "content-type": "text/plain", ...bearer(ADMIN) }, 415, "TGLENS_UNSUPPORTED_MEDIA_TYPE"],
      ["POST", "/api/scrape", { ...json }, 401, "TGLENS_UNAUTHORIZED"],
      ["POST", "/api/scrape", { ...json, ...bearer(`${ADMIN}0`) }, 401, "TGLENS_UNAUTHORIZED"],
      ["POST", "/api/scrape", { ...json, ...bearer(READ) }, 403, "TGLENS_FORBIDDEN"],
      ["DELETE", `/api/chats/${TEAM_ID}`, { host: "evil.example" }, 403, "TGLENS_FORBIDDEN"],
      ["DELETE", `/api/chats/${TEAM_ID}`, { origin: "http://evil.example", ...bearer(ADMIN) }, 403, "TGLENS_FORBIDDEN"],
      ["DELETE", `/api/chats/${TEAM_ID}`, { "sec-fetch-site": "cross-site", ...bearer(ADMIN) }, 403, "TGLENS_FORBIDDEN"],
      ["DELETE", `/api/chats/${TEAM_ID}`, {}, 401, "TGLENS_UNAUTHORIZED"],
      ["DELETE", `/api/chats/${TEAM_ID}`, { ...bearer(READ) }, 403, "TGLENS_FORBIDDEN"],
    ];
    for (const [method, url, headers, status, code] of attempts) {
      // fetch cannot set Host; the raw request sends every header as given.
      const lines = [`${method} ${url} HTTP/1.1`, `Host: ${headers.host ?? here}`, "Connection: close"];
      for (const [k, v] of Object.entries(headers)) if (k !== "host") lines.push(`${k}: ${v}`);
      const body = method === "POST" ? exportBody : Buffer.alloc(0);
      if (method === "POST") lines.push(`Content-Length: ${body.length}`);
      const res = await rawRequest(gateway, Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n"), body]));
      const what = `${method} ${url} ${JSON.stringify(headers)}`;
      assert.equal(res.status, status, `${what}: ${res.body}`);
      assert.equal(JSON.parse(res.body).error.code, code, what);
    }
    assert.deepEqual(await state(), before, "chat still there, no job created, no upload file left");
  });

  it("keeps the internal services closed without the admin token", async () => {
    const before = await state();
    const { urls } = system.config;
    const json = { "content-type": "application/json" };
    const attempts: [string, string, string, Record<string, string>, unknown, number][] = [
      [urls.storage, "DELETE", `/chats/${TEAM_ID}`, {}, undefined, 401],
      [urls.storage, "DELETE", `/chats/${TEAM_ID}`, bearer(READ), undefined, 403],
      [urls.storage, "POST", "/store", json, { messages: [] }, 401],
      [urls.storage, "GET", "/search?q=party", {}, undefined, 401],
      [urls.scraper, "POST", "/scrape", json, { export_path: "x.json" }, 401],
      [urls.scraper, "POST", "/scrape", { ...json, ...bearer(READ) }, { export_path: "x.json" }, 403],
      [urls.embedder, "POST", "/embed", { ...json, ...bearer(READ) }, { texts: ["x"] }, 403],
      [urls.preprocessor, "POST", "/preprocess", json, { texts: ["x"] }, 401],
    ];
    for (const [base, method, url, headers, body, status] of attempts) {
      const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      assert.equal(res.status, status, `${method} ${base}${url}`);
      assert.match(((await res.json()) as { error: { code: string } }).error.code, status === 401 ? /^TGLENS_UNAUTHORIZED$/ : /^TGLENS_FORBIDDEN$/);
    }
    // Each still answers its probes, as compose healthchecks call them.
    for (const base of Object.values(urls)) assert.equal((await fetch(`${base}/health`)).status, 200, base);
    assert.deepEqual(await state(), before);
  });

  it("lets the read token search but not forget; the admin token through the bot's backend does both", async () => {
    const search = await fetch(`${gateway}/api/search?q=where+is+the+party+venue&k=3`, { headers: bearer(READ) });
    assert.equal(search.status, 200);
    assert.equal(((await search.json()) as { results: unknown[] }).results.length, 3);
    const reader = new GatewayClient(gateway, READ);
    assert.equal((await reader.search({ q: "сантехника", mode: "keyword" }))[0]?.message_id, 53);
    await rejectsWith(reader.forget(TEAM_ID), "TGLENS_FORBIDDEN");
    await rejectsWith(new GatewayClient(gateway).chats(), "TGLENS_UNAUTHORIZED");

    const bot = httpBackend(system.config.urls, ADMIN);
    assert.ok((await bot.chats()).some((c) => c.chat_id === TEAM_ID));
    assert.ok((await bot.search({ q: "where is the party venue", k: 3 })).length > 0);
    // The bot's file import reaches the scraper's own checks (a JSON body, with the token).
    const upload = bot.upload(new Blob([JSON.stringify({ hello: "world" })]).stream());
    await rejectsWith(upload, "TGLENS_NOT_AN_EXPORT");
    await rejectsWith(httpBackend(system.config.urls).chats(), "TGLENS_UNAUTHORIZED");
  });

  it("answers hostile input with a 4xx, never a 5xx: NUL in a query, an empty import, a 100k-character URL", async () => {
    const before = await state();
    for (const mode of ["keyword", "hybrid"]) {
      const res = await fetch(`${gateway}/api/search?${new URLSearchParams({ q: "party\u0000venue", mode })}`, { headers: bearer(READ) });
      assert.equal(res.status, 200, mode);
    }
    for (const url of [`${gateway}/api/scrape`, `${system.config.urls.scraper}/scrape`]) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...bearer(ADMIN) } });
      assert.equal(res.status, 400, url);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "TGLENS_BAD_JSON");
    }
    const long = await rawRequest(gateway, `GET /api/search?q=${"a".repeat(100_000)} HTTP/1.1\r\nHost: ${new URL(gateway).host}\r\n\r\n`);
    assert.equal(long.status, 431);
    assert.equal(JSON.parse(long.body).error.code, "TGLENS_HEADERS_TOO_LARGE");
    assert.deepEqual(await state(), before);
  });

  it("imports an export sent gzip-compressed, decoded as it streams through the gateway", async () => {
    const res = await fetch(`${gateway}/api/scrape`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", ...bearer(ADMIN) },
      body: gzipSync(exportBody),
    });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { job_id: string; messages: number; skipped: number };
    assert.deepEqual({ messages: accepted.messages, skipped: accepted.skipped }, plain);
    const job = await new GatewayClient(gateway, READ).waitForJob(accepted.job_id, () => {});
    assert.equal(job.state, "done", JSON.stringify(job));
    assert.deepEqual(await snapshotDir(uploadsDir(system.config.dataDir)), [], "the upload was removed once imported");
  });

  it("never writes a token to the log", () => {
    const all = logs.lines.join("");
    assert.ok(logs.lines.length > 10, "the system logged");
    assert.equal(all.includes(ADMIN), false, "admin token in the log");
    assert.equal(all.includes(READ), false, "read token in the log");
  });
});
