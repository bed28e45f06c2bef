/**
 * The API client: the same calls through a gateway (`/api/...`) or straight to storage and the
 * scraper, with the token as a bearer token, bodies as JSON or streamed, answers unwrapped, a
 * service's error code kept, and a job followed until it ends.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient } from "../../../../services/gateway/api/client.ts";
import { rejectsWith } from "../../../helpers/errors.ts";
import { fakeUpstream, type UpstreamAnswer } from "../../../helpers/fake-upstream.ts";

const TOKEN = "client-test-token-0123456789";
const HIT = {
  chat_id: "1",
  chat_name: "Crew",
  chat_username: null,
  message_id: 5,
  date: "2024-01-01T00:00:00.000Z",
  sender: "Ann",
  sender_id: "user1",
  text: "hi",
  lang: "en",
  link: null,
  score: 0.9,
};
const PAGE = {
  chat: { chat_id: "1", name: "Crew", type: "private_supergroup", username: null, link_note: null },
  target: 5,
  messages: [
    {
      message_id: 5,
      date: HIT.date,
      sender: "Ann",
      sender_id: "user1",
      text: "hi",
      lang: "en",
      link: "https://t.me/c/1/5",
      reply_to: null,
      forwarded_from: null,
      edited: null,
      media: null,
      is_target: true,
    },
  ],
  replied_to: [],
  replies: [],
  before: { message_id: 5, more: false },
  after: { message_id: 5, more: false },
};
const CHAT = { chat_id: "1", name: "Crew", type: "private_group", username: null, messages: 3, senders: 1, first_date: null, last_date: null };

/** What a service answers to each call the client makes (by method and path, query left out). */
function answer(method: string, url: string, polls: { n: number }): UpstreamAnswer {
  const path = url.split("?")[0]!.replace(/^\/api/, "");
  switch (`${method} ${path}`) {
    case "GET /search":
      return { status: 200, body: { results: [HIT] } };
    case "GET /chats":
      return { status: 200, body: { chats: [CHAT] } };
    case "GET /chats/a%2Fb/stats":
      return { status: 200, body: { ...CHAT, top_senders: [], by_month: [] } };
    case "DELETE /chats/1":
      return { status: 200, body: { chat_id: "1", deleted: true, messages: 3 } };
    case "GET /chats/1/messages":
      return { status: 200, body: PAGE };
    case "GET /chats/404":
      return { status: 404, body: { error: { code: "TGLENS_NOT_FOUND", message: "no chat 404" } } };
    case "POST /scrape":
      return { status: 202, body: { job_id: "j1", chat: "@crew" } };
    case "GET /jobs/j1":
      return { status: 200, body: { job_id: "j1", state: ++polls.n < 3 ? "running" : "done" } };
    case "GET /jobs":
      return { status: 200, body: { jobs: [] } };
    default:
      return { status: 500, body: { error: { code: "TGLENS_INTERNAL", message: `unexpected ${method} ${url}` } } };
  }
}

describe("ApiClient", () => {
  const polls = { n: 0 };
  const servers: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  const start = async () => {
    const server = await fakeUpstream((req) => answer(req.method!, req.url!, polls));
    servers.push(server);
    return server;
  };

  it("calls a gateway's /api routes with the token, and unwraps the answers", async () => {
    const gateway = await start();
    const client = new ApiClient({ gateway: `${gateway.url}/` }, TOKEN);
    assert.deepEqual(await client.search({ q: "where to?", k: 3, chat: undefined, from: 1700000000 }), [HIT]);
    assert.deepEqual(await client.chats(), [CHAT]);
    assert.equal((await client.chatStats("a/b")).name, "Crew");
    assert.deepEqual(await client.forget("1"), { chat_id: "1", deleted: true, messages: 3 });
    assert.deepEqual(await client.scrape({ chat: "@crew", limit: 10 }), { job_id: "j1", chat: "@crew" });
    assert.deepEqual(await client.jobs(), []);
    assert.deepEqual(await client.messages("1", { around: 5, before: 0, after: 0 }), PAGE);
    await client.messages("1", { from: "2024-05-01", limit: 20 });
    await client.messages("1");
    assert.deepEqual(
      gateway.seen.map((r) => `${r.method} ${r.url}`),
      [
        "GET /api/search?q=where+to%3F&k=3&from=1700000000",
        "GET /api/chats",
        "GET /api/chats/a%2Fb/stats",
        "DELETE /api/chats/1",
        "POST /api/scrape",
        "GET /api/jobs",
        "GET /api/chats/1/messages?around=5&before=0&after=0",
        "GET /api/chats/1/messages?from=2024-05-01&limit=20",
        "GET /api/chats/1/messages",
      ],
    );
    assert.ok(gateway.seen.every((r) => r.authorization === `Bearer ${TOKEN}`));
    const post = gateway.seen.find((r) => r.method === "POST")!;
    assert.equal(post.contentType, "application/json");
    assert.deepEqual(JSON.parse(post.body), { chat: "@crew", limit: 10 });
  });

  it("calls storage and the scraper directly when given their addresses, without a token when it has none", async () => {
    const storage = await start();
    const scraper = await start();
    const client = new ApiClient({ services: { storage: storage.url, scraper: scraper.url } });
    await client.chats();
    await client.scrape({ export_path: "team.json" });
    assert.deepEqual(
      storage.seen.map((r) => `${r.method} ${r.url} ${r.authorization}`),
      ["GET /chats undefined"],
    );
    assert.deepEqual(
      scraper.seen.map((r) => `${r.method} ${r.url} ${r.authorization}`),
      ["POST /scrape undefined"],
    );
  });

  it("streams an upload with its size, keeps a service's error code, and follows a job to its end", async () => {
    const gateway = await start();
    const client = new ApiClient({ gateway: gateway.url }, TOKEN);
    const body = JSON.stringify({ name: "Crew", messages: [] });
    await client.upload(new Blob([body]).stream(), Buffer.byteLength(body));
    const upload = gateway.seen.at(-1)!;
    assert.deepEqual(
      [upload.method, upload.url, upload.contentType, upload.contentLength, upload.body],
      ["POST", "/api/scrape", "application/json", String(body.length), body],
    );

    await rejectsWith(client.chat("404"), "TGLENS_NOT_FOUND");

    const states: string[] = [];
    const job = await client.waitForJob("j1", (j) => states.push(j.state), 5);
    assert.equal(job.state, "done");
    assert.deepEqual(states, ["running", "running", "done"]);
  });
});
