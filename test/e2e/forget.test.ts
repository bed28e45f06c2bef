/**
 * Forget means gone: after DELETE /api/chats/:id no file under the data directory holds a byte of
 * the chat's text — not the raw and preprocessed logs, not SQLite's free pages or WAL, not FTS5's
 * index segments, not even its id in the scraper's job book — while another chat's messages are
 * still found. Through the real embedded system, as a user would do it: the one data directory
 * holds every service's part, and the forget goes to each over the memory bus (control-topic).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jobsDir } from "../../services/common/data-files.ts";
import { api as apiAt } from "../helpers/distributed.ts";
import { exportOf, filesContaining, importExport as importAt, keywordHits as hitsAt } from "../helpers/forget.ts";
import { startTestSystem, type TestSystem } from "../helpers/system.ts";

/** Words that occur nowhere else (SQLite stores text as UTF-8, and FTS5 folds tokens to lower case). */
const CANARY = "zqxvorpelcanary";
const KEEPER = "wumbleflintkeeper";

let t: TestSystem;
const api = (method: string, url: string) => apiAt(t.url, method, url);
const importExport = (how: "upload" | "path", file: string, data: unknown) => importAt(t.url, t.config.importDir, how, file, data);
const keywordHits = (word: string) => hitsAt(t.url, word);

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
    assert.equal(res.json.deleted, true);
    assert.deepEqual(res.json.pending, []);
    const { scraper, preprocessor, storage } = res.json.services;
    assert.deepEqual([scraper.raw_files, scraper.jobs, preprocessor.files, storage.messages], [1, 1, 1, 600], JSON.stringify(res.json));
    assert.deepEqual(await filesContaining(jobsDir(t.config.dataDir), "777001"), [], "the job book keeps not even the chat's id");
    assert.ok(
      (await api("GET", "/api/jobs")).json.jobs.every((j: any) => j.chats.every((c: any) => c.id !== "777001")),
      "its job is gone",
    );
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
