/**
 * What real Telegram exports contain and earlier versions mishandled, end to end in embedded mode
 * with the real model: negative message ids (supergroups migrated from a group), ids that repeat
 * within one export, dates JavaScript cannot hold, chat ids that are not numbers, an export given
 * as its folder — and uploads that stall.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { embeddedRecord } from "../helpers/records.ts";
import { snapshotDir, startTestSystem, type TestSystem } from "../helpers/system.ts";

let t: TestSystem;

async function api(method: string, url: string, body?: unknown, base = t.url): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

async function waitForJob(jobId: string): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { json } = await api("GET", `/api/jobs/${jobId}`);
    if (json.state !== "running") return json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running: ${JSON.stringify(json)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const at = (minute: number) => ({ date: `2024-03-01T10:${String(minute).padStart(2, "0")}:00`, date_unixtime: String(1709287200 + minute * 60) });
const msg = (id: number, minute: number, text: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "message",
  ...at(minute),
  from: "Olga",
  from_id: "user7",
  text,
  ...extra,
});

/** A supergroup migrated from a group: its old messages carry negative ids; one id repeats. */
const MIGRATED = {
  name: "Hiking club",
  type: "private_supergroup",
  id: 4000000001,
  messages: [
    msg(-3, 0, "the old group decided the trail starts at the lighthouse"),
    msg(-2, 1, "bring waterproof boots, the marsh path floods"),
    { id: -1, type: "service", ...at(2), actor: "Olga", actor_id: "user7", action: "migrate_to_supergroup" },
    msg(1, 3, "welcome to the new supergroup"),
    msg(2, 4, "first draft: we meet at the bakery at seven"),
    msg(3, 5, "who has a spare tent for the weekend"),
    msg(2, 4, "final: we meet at the railway station at eight", { edited: "2024-03-01T11:00:00", edited_unixtime: "1709290800" }),
  ],
};

async function chats(): Promise<any[]> {
  return (await api("GET", "/api/chats")).json.chats;
}

async function unchanged(send: () => Promise<{ status: number; json: any }>, status: number, code: string): Promise<string> {
  const chatsBefore = await chats();
  const filesBefore = await snapshotDir(t.config.dataDir);
  const res = await send();
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.error.code, code);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(await chats(), chatsBefore);
  assert.deepEqual(await snapshotDir(t.config.dataDir), filesBefore);
  assert.deepEqual(
    (await api("GET", "/api/jobs")).json.jobs.filter((j: any) => j.state === "running"),
    [],
  );
  return res.json.error.message as string;
}

describe("exports as Telegram writes them", { timeout: 300_000 }, () => {
  before(async () => {
    t = await startTestSystem({ TGLENS_UPLOAD_IDLE_SECONDS: "1", TGLENS_MAX_UPLOADS: "1" });
  });
  after(() => t.close());

  it("imports negative and repeated message ids: exact counts, the last version of a repeated id wins, the job finishes", async () => {
    const res = await api("POST", "/api/scrape", MIGRATED);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.messages, 5, "distinct messages");
    assert.equal(res.json.skipped, 1);
    assert.equal(res.json.replaced, 1);
    const job = await waitForJob(res.json.job_id);
    assert.equal(job.state, "done", JSON.stringify(job));
    assert.equal(job.error, null);
    assert.equal(job.counters.stored, 5);
    assert.equal(job.counters.failed, 0);
    assert.equal(job.counters.replaced, 1);
    const [chat] = (await chats()).filter((c) => c.chat_id === "4000000001");
    assert.equal(chat.messages, 5);

    const hits = (await api("GET", `/api/search?${new URLSearchParams({ q: "where does the trail start", chat: "4000000001", k: "5" })}`)).json
      .results;
    assert.equal(hits[0].message_id, -3);
    assert.match(hits[0].text, /lighthouse/);
    const ids = hits.map((h: any) => h.message_id).sort((a: number, b: number) => a - b);
    assert.deepEqual(ids, [-3, -2, 1, 2, 3], "every message once, the negative ones beside the positive ones");

    const meeting = (await api("GET", `/api/search?${new URLSearchParams({ q: "where do we meet", chat: "4000000001", k: "5" })}`)).json.results;
    const two = meeting.filter((h: any) => h.message_id === 2);
    assert.equal(two.length, 1);
    assert.match(two[0].text, /railway station/, "the later version of id 2 is the stored one");
    const keyword = (await api("GET", `/api/search?${new URLSearchParams({ q: "bakery", mode: "keyword", chat: "4000000001" })}`)).json.results;
    assert.deepEqual(keyword, [], "the replaced version is nowhere");
  });

  it("refuses a date JavaScript cannot hold, naming the message, and changes nothing", async () => {
    const message = await unchanged(
      () =>
        api("POST", "/api/scrape", {
          name: "Far future",
          type: "private_group",
          id: 4000000002,
          messages: [msg(1, 0, "fine"), { ...msg(2, 1, "too late"), date_unixtime: "8640000000001" }],
        }),
      422,
      "TGLENS_BAD_MESSAGE",
    );
    assert.match(message, /messages\[1\]/);
    assert.match(message, /id 2/);
    assert.match(message, /date_unixtime/);
  });

  it("refuses a chat id that is not an integer before anything is written", async () => {
    const message = await unchanged(
      () => api("POST", "/api/scrape", { name: "Odd", type: "private_group", id: "notanumber", messages: [msg(1, 0, "hello")] }),
      422,
      "TGLENS_NOT_AN_EXPORT",
    );
    assert.match(message, /integer/);
  });

  it("refuses a stored message whose chat id is not an integer (POST /store)", async () => {
    const stored = embeddedRecord("notanumber", 1);
    await unchanged(() => api("POST", "/store", { messages: [stored] }, t.config.urls.storage), 400, "TGLENS_BAD_REQUEST");
    await unchanged(
      () => api("POST", "/store", { messages: [{ ...stored, chat: { ...stored.chat, id: "5" }, date: 8640000000001 }] }, t.config.urls.storage),
      400,
      "TGLENS_BAD_REQUEST",
    );
  });

  it("imports an export given as its folder (Telegram Desktop exports to a folder)", async () => {
    const folder = path.join(t.config.importDir, "ChatExport_2024-03-01");
    await fs.mkdir(folder, { recursive: true });
    await fs.writeFile(
      path.join(folder, "result.json"),
      JSON.stringify({ name: "Folder chat", type: "private_group", id: 4000000003, messages: [msg(1, 0, "exported to a folder")] }),
    );
    const res = await api("POST", "/api/scrape", { export_path: "ChatExport_2024-03-01" });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal((await waitForJob(res.json.job_id)).state, "done");
    assert.ok((await chats()).some((c) => c.chat_id === "4000000003"));
    await fs.mkdir(path.join(t.config.importDir, "empty-folder"));
    const missing = await api("POST", "/api/scrape", { export_path: "empty-folder" });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error.message, /result\.json/);
  });

  it("cuts off an upload that stops sending (408), leaves no file, and lets only TGLENS_MAX_UPLOADS run at once (429)", async () => {
    const uploads = path.join(t.config.dataDir, "uploads");
    const { port } = new URL(t.url);
    const socket = net.connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    let answer = "";
    socket.on("data", (d) => (answer += d.toString()));
    socket.write("POST /api/scrape HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");

    // While that upload is open, a second one is refused with a time to come back.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const busy = await api("POST", "/api/scrape", MIGRATED);
    assert.equal(busy.status, 429, JSON.stringify(busy.json));
    assert.equal(busy.json.error.code, "TGLENS_BUSY");
    assert.ok(Number(busy.headers.get("retry-after")) > 0);

    const deadline = Date.now() + 15_000;
    while (!answer.includes("TGLENS_TIMEOUT") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"code":"TGLENS_TIMEOUT"/);
    assert.deepEqual(await fs.readdir(uploads).catch(() => []), []);
    // The slot is free again.
    const again = await api("POST", "/api/scrape", {
      name: "After",
      type: "private_group",
      id: 4000000004,
      messages: [msg(1, 0, "after the stalled upload")],
    });
    assert.equal(again.status, 202, JSON.stringify(again.json));
    assert.equal((await waitForJob(again.json.job_id)).state, "done");
  });
});
