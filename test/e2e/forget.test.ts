/**
 * Forget means gone: after DELETE /api/chats/:id no file under the data directory holds a byte of
 * the chat's text — not the raw and preprocessed logs, not SQLite's free pages or WAL, not FTS5's
 * index segments — while another chat's messages are still found. Through the real embedded
 * system, as a user would do it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { startTestSystem, type TestSystem } from "../helpers/system.ts";

/** Words that occur nowhere else (SQLite stores text as UTF-8, and FTS5 folds tokens to lower case). */
const CANARY = "zqxvorpelcanary";
const KEEPER = "wumbleflintkeeper";

let t: TestSystem;

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(t.url + url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** A Telegram Desktop single-chat export of `count` messages, `word` in every fifth one. */
function exportOf(id: number, name: string, word: string, count: number) {
  const t0 = 1_704_000_000;
  return {
    name,
    type: "private_group",
    id,
    messages: Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      type: "message",
      date: new Date((t0 + i * 60) * 1000).toISOString().slice(0, 19),
      date_unixtime: String(t0 + i * 60),
      from: `Person ${i % 7}`,
      from_id: `user${1000 + (i % 7)}`,
      text: i % 5 === 0 ? `message ${i} says ${word} about the plan for day ${i}` : `message ${i} is about the plan for day ${i} in ${name}`,
    })),
  };
}

/** Imports an export sent as the request body (kept in data/uploads while it is read), or by its path in the import directory. */
async function importExport(how: "upload" | "path", file: string, data: unknown): Promise<void> {
  if (how === "path") await fs.writeFile(path.join(t.config.importDir, file), JSON.stringify(data));
  const res = await api("POST", "/api/scrape", how === "upload" ? data : { export_path: file });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { json } = await api("GET", `/api/jobs/${res.json.job_id}`);
    if (json.state !== "running") return assert.equal(json.state, "done", JSON.stringify(json));
    if (Date.now() > deadline) assert.fail(`job still running: ${JSON.stringify(json)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function keywordHits(word: string): Promise<any[]> {
  const { status, json } = await api("GET", `/api/search?${new URLSearchParams({ q: word, mode: "keyword", k: "100" })}`);
  assert.equal(status, 200, JSON.stringify(json));
  return json.results;
}

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(Buffer.from(needle, "utf8"))) found.push(path.relative(dir, file));
  }
  return found;
}

describe("forgetting a chat", { timeout: 300_000 }, () => {
  before(async () => {
    t = await startTestSystem();
    await importExport("upload", "forgotten.json", exportOf(777001, "Forgotten chat", CANARY, 600));
    await importExport("path", "kept.json", exportOf(777002, "Kept chat", KEEPER, 300));
  });
  after(async () => {
    await t?.close();
  });

  it("starts with both chats' words on disk and searchable", async () => {
    assert.equal((await keywordHits(CANARY)).length, 100);
    assert.equal((await keywordHits(KEEPER)).length, 60);
    assert.notDeepEqual(await filesContaining(t.config.dataDir, CANARY), []);
  });

  it("leaves no byte of the forgotten chat's text in any file under the data directory", async () => {
    const res = await api("DELETE", "/api/chats/777001");
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.messages, 600);
    assert.deepEqual(await filesContaining(t.config.dataDir, CANARY), []);
    assert.deepEqual(await filesContaining(t.config.dataDir, "Forgotten chat"), []);
    assert.deepEqual(await keywordHits(CANARY), []);
  });

  it("still finds the other chat's messages", async () => {
    const hits = await keywordHits(KEEPER);
    assert.equal(hits.length, 60);
    assert.ok(hits.every((h) => h.chat_id === "777002"));
    assert.notDeepEqual(await filesContaining(t.config.dataDir, KEEPER), []);
  });
});
