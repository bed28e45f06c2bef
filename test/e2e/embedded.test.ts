/**
 * End to end in embedded mode with the real model: fixture exports in, search out, through the
 * gateway's HTTP API exactly as a user would.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { snapshotDir, startTestSystem, type TestSystem } from "../helpers/system.ts";
import { fixtureExport, TEAM_CHAT_EXPORT } from "../helpers/fixtures.ts";

interface ChatExpectation {
  id: string;
  name: string;
  type: string;
  messages: number;
  service: number;
  empty_message_ids: number[];
}
interface Needle {
  file: string;
  chat_id: string;
  message_id: number;
  query: string;
  lang: string;
  mode: "semantic" | "keyword";
}
interface Expectations {
  files: { file: string; chats: ChatExpectation[]; messages: number; service: number; empty: number }[];
  needles: Needle[];
}

const FIXTURES = path.resolve("test/fixtures/exports");
const expectations = JSON.parse(await fs.readFile(path.join(FIXTURES, "expectations.json"), "utf8")) as Expectations;
const teamFile = expectations.files.find((f) => f.file === "team-chat/result.json")!;
const accountFile = expectations.files.find((f) => f.file === "full-account/result.json")!;
const teamChat = teamFile.chats[0]!;

let t: TestSystem;

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(t.url + url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function waitForJob(jobId: string): Promise<any> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { json } = await api("GET", `/api/jobs/${jobId}`);
    if (json.state !== "running") return json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running: ${JSON.stringify(json)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function search(params: Record<string, string | number>): Promise<any[]> {
  const { status, json } = await api(
    "GET",
    `/api/search?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`,
  );
  assert.equal(status, 200, JSON.stringify(json));
  return json.results;
}

async function chats(): Promise<any[]> {
  return (await api("GET", "/api/chats")).json.chats;
}

async function importByPath(rel: string) {
  await fs.mkdir(path.dirname(path.join(t.config.importDir, rel)), { recursive: true });
  await fs.copyFile(fixtureExport(rel), path.join(t.config.importDir, rel));
  const res = await api("POST", "/api/scrape", { export_path: rel });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return { accepted: res.json, job: await waitForJob(res.json.job_id) };
}

describe("embedded mode, end to end", { timeout: 600_000 }, () => {
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => {
    await t?.close();
  });

  it("imports a single-chat export by path: every message counted, empty ones dropped", async () => {
    const { accepted, job } = await importByPath("team-chat/result.json");
    assert.equal(accepted.messages, teamFile.messages);
    assert.equal(accepted.skipped, teamFile.service);
    assert.deepEqual(accepted.chats, [{ id: teamChat.id, name: teamChat.name, type: teamChat.type }]);
    assert.equal(job.state, "done", JSON.stringify(job));
    assert.equal(job.counters.scraped, teamFile.messages);
    assert.equal(job.counters.dropped, teamFile.empty);
    assert.equal(job.counters.stored, teamFile.messages - teamFile.empty);
    assert.equal(job.counters.failed, 0);
    const chat = (await chats()).find((c) => c.chat_id === teamChat.id);
    assert.equal(chat.messages, teamFile.messages - teamFile.empty);
    assert.equal(chat.name, teamChat.name);
  });

  it("makes every kept message findable: searching its own text finds it", async () => {
    const raw = JSON.parse(await fs.readFile(TEAM_CHAT_EXPORT, "utf8"));
    const empty = new Set(teamChat.empty_message_ids);
    const kept = raw.messages.filter((m: any) => m.type === "message" && !empty.has(m.id));
    assert.equal(kept.length, teamFile.messages - teamFile.empty);
    const missing: number[] = [];
    for (const m of kept) {
      const text = typeof m.text === "string" ? m.text : m.text.map((p: any) => (typeof p === "string" ? p : p.text)).join("");
      const results = await search({ q: text.slice(0, 500), k: 30, chat: teamChat.id });
      if (!results.some((r) => r.message_id === m.id)) missing.push(m.id);
    }
    assert.deepEqual(missing, []);
  });

  it("ranks the right answer in the top 3 for English questions that share no word with it", async () => {
    const needles = expectations.needles.filter((n) => n.file === "team-chat/result.json" && n.mode === "semantic");
    assert.ok(needles.length >= 20);
    const misses: string[] = [];
    for (const n of needles) {
      const results = await search({ q: n.query, k: 3 });
      if (!results.some((r) => r.message_id === n.message_id && r.chat_id === n.chat_id)) {
        misses.push(`${n.query} → ${results.map((r) => r.message_id).join(",")} (want ${n.message_id})`);
      }
    }
    assert.deepEqual(misses, []);
  });

  it("finds Russian messages by keyword, original text intact", async () => {
    const needles = expectations.needles.filter((n) => n.file === "team-chat/result.json" && n.mode === "keyword");
    assert.ok(needles.length >= 5);
    for (const n of needles) {
      const results = await search({ q: n.query, k: 5, mode: "keyword" });
      const hit = results.find((r) => r.message_id === n.message_id);
      assert.ok(hit, `keyword ${n.query}`);
      assert.match(hit.text, /[А-Яа-яЁё]/);
      assert.equal(hit.lang, "ru", hit.text);
    }
  });

  it("filters by sender and date, and supports hybrid search", async () => {
    const bySender = await search({ q: "party", k: 20, sender: "Anna Petrova" });
    assert.ok(bySender.length > 0);
    for (const r of bySender) assert.equal(r.sender, "Anna Petrova");
    const all = await search({ q: "party", k: 50 });
    const cutoff = all.map((r) => Date.parse(r.date) / 1000).sort((a, b) => a - b)[Math.floor(all.length / 2)]!;
    const late = await search({ q: "party", k: 50, from: cutoff });
    assert.ok(
      all.some((r) => Date.parse(r.date) / 1000 < cutoff),
      "unfiltered results include earlier messages",
    );
    assert.ok(late.length > 0);
    for (const r of late) assert.ok(Date.parse(r.date) / 1000 >= cutoff);
    const early = await search({ q: "party", k: 50, to: new Date(cutoff * 1000).toISOString() });
    assert.ok(early.length > 0);
    for (const r of early) assert.ok(Date.parse(r.date) / 1000 <= cutoff);
    const hybrid = await search({ q: "birthday cake", k: 5, mode: "hybrid" });
    assert.ok(hybrid.length > 0);
  });

  it("imports a full-account export sent as the request body: every chat, left chats too", async () => {
    const body = await fs.readFile(path.join(FIXTURES, "full-account/result.json"));
    const res = await api("POST", "/api/scrape", body);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.messages, accountFile.messages);
    assert.deepEqual(res.json.chats.map((c: any) => c.id).sort(), accountFile.chats.map((c) => c.id).sort());
    const job = await waitForJob(res.json.job_id);
    assert.equal(job.state, "done");
    const listed = await chats();
    for (const c of accountFile.chats) {
      const found = listed.find((l) => l.chat_id === c.id);
      assert.ok(found, `chat ${c.id} listed`);
      assert.equal(found.messages, c.messages - c.empty_message_ids.length, `messages of ${c.name}`);
    }
    const needles = expectations.needles.filter((n) => n.file === "full-account/result.json" && n.mode === "semantic");
    for (const n of needles) {
      const results = await search({ q: n.query, k: 3 });
      assert.ok(
        results.some((r) => r.message_id === n.message_id && r.chat_id === n.chat_id),
        n.query,
      );
    }
    assert.deepEqual(await fs.readdir(path.join(t.config.dataDir, "uploads")), [], "upload removed after import");
  });

  it("re-imports without duplicating anything", async () => {
    const before = await chats();
    const files = await snapshotDir(path.join(t.config.dataDir, "preprocessed"));
    const { job } = await importByPath("team-chat/result.json");
    assert.equal(job.state, "done");
    assert.deepEqual(await chats(), before);
    assert.deepEqual(await snapshotDir(path.join(t.config.dataDir, "preprocessed")), files);
    const results = await search({ q: "where is the party venue", k: 10 });
    const keys = results.map((r) => `${r.chat_id}/${r.message_id}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  const badInputs: [string, () => Promise<{ status: number; json: any }>, number, string][] = [
    ["malformed JSON", () => api("POST", "/api/scrape", '{"name": "x", "messages": [ {"id": 1,'), 400, "TGLENS_BAD_JSON"],
    ["JSON that is not an export", () => api("POST", "/api/scrape", { hello: "world", items: [1, 2] }), 422, "TGLENS_NOT_AN_EXPORT"],
    ["a JSON array", () => api("POST", "/api/scrape", [1, 2, 3]), 422, "TGLENS_NOT_AN_EXPORT"],
    [
      "a message without an id",
      () =>
        api("POST", "/api/scrape", {
          name: "Bad",
          type: "private_group",
          id: 999001,
          messages: [
            { id: 1, type: "message", date: "2024-01-01T10:00:00", date_unixtime: "1704103200", from: "A", from_id: "user1", text: "fine" },
            { type: "message", date: "2024-01-01T10:01:00", date_unixtime: "1704103260", from: "A", from_id: "user1", text: "no id" },
          ],
        }),
      422,
      "TGLENS_BAD_MESSAGE",
    ],
    [
      "a 5 MB message",
      () =>
        api("POST", "/api/scrape", {
          name: "Huge",
          type: "private_group",
          id: 999002,
          messages: [
            {
              id: 1,
              type: "message",
              date: "2024-01-01T10:00:00",
              date_unixtime: "1704103200",
              from: "A",
              from_id: "user1",
              text: "a".repeat(5 * 1024 * 1024),
            },
          ],
        }),
      422,
      "TGLENS_BAD_MESSAGE",
    ],
    [
      "invalid UTF-8",
      () =>
        api(
          "POST",
          "/api/scrape",
          Buffer.concat([
            Buffer.from(
              '{"name": "Bytes", "type": "private_group", "id": 999003, "messages": ' +
                '[{"id": 1, "type": "message", "date": "2024-01-01T10:00:00", "from": "A", "from_id": "user1", "text": "bad ',
            ),
            Buffer.from([0xff, 0xfe, 0xc3]),
            Buffer.from('"}]}'),
          ]),
        ),
      400,
      "TGLENS_BAD_UTF8",
    ],
    ["a path outside TGLENS_IMPORT_DIR", () => api("POST", "/api/scrape", { export_path: "../../../../etc/passwd" }), 403, "TGLENS_PATH_FORBIDDEN"],
    ["an absolute path elsewhere", () => api("POST", "/api/scrape", { export_path: "/etc/hostname" }), 403, "TGLENS_PATH_FORBIDDEN"],
    ["a missing file", () => api("POST", "/api/scrape", { export_path: "nope/result.json" }), 404, "TGLENS_NOT_FOUND"],
  ];
  for (const [what, send, status, code] of badInputs) {
    it(`refuses ${what} with ${status} ${code} and changes nothing`, async () => {
      const chatsBefore = await chats();
      const filesBefore = await snapshotDir(t.config.dataDir);
      const res = await send();
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code);
      assert.ok(res.json.error.message.length > 10, res.json.error.message);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(await chats(), chatsBefore);
      assert.deepEqual(await snapshotDir(t.config.dataDir), filesBefore);
    });
  }

  it("answers bad search parameters with 400 naming the parameter", async () => {
    for (const [query, field] of [
      ["q=", "q"],
      ["q=x&k=0", "k"],
      ["q=x&k=abc", "k"],
      ["q=x&mode=fuzzy", "mode"],
      ["q=x&from=yesterday-ish", "from"],
      ["k=3", "q"],
    ] as const) {
      const res = await api("GET", `/api/search?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.error.code, "TGLENS_BAD_REQUEST");
      assert.match(res.json.error.message, new RegExp(field), query);
    }
  });

  it("forgets a chat: gone from search, chats and disk", async () => {
    const res = await api("DELETE", `/api/chats/${teamChat.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.messages, teamFile.messages - teamFile.empty);
    assert.equal(
      (await chats()).some((c) => c.chat_id === teamChat.id),
      false,
    );
    assert.deepEqual(await search({ q: "party venue", k: 5, chat: teamChat.id }), []);
    const anywhere = await search({ q: "where is the party venue", k: 50 });
    assert.equal(
      anywhere.some((r) => r.chat_id === teamChat.id),
      false,
    );
    const files = await snapshotDir(t.config.dataDir);
    assert.equal(
      files.some((f) => f.includes(teamChat.id)),
      false,
      files.join("\n"),
    );
    assert.equal((await api("DELETE", `/api/chats/${teamChat.id}`)).status, 404);
    const other = accountFile.chats[0]!;
    assert.ok(
      (await chats()).some((c) => c.chat_id === other.id),
      "other chats untouched",
    );
  });
});
