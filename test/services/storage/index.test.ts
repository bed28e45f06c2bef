/**
 * The storage service over HTTP: chats with their username, chat statistics, search results with
 * the chat's username; and its part of forgetting a chat (on control-topic, or storage-only over
 * HTTP). Queries are embedded by a stand-in (the axis of the message to find), so no model is loaded.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { MemoryBus } from "../../../services/common/memory-bus.ts";
import type { ChatRef, EmbeddedMessage } from "../../../services/common/schemas.ts";
import type { Service } from "../../../services/common/service.ts";
import type { StorageHandle } from "../../../services/storage/sqlite-storage.ts";
import { askToForget } from "../../helpers/forget.ts";
import { storageService } from "./helpers.ts";

const DIM = 384;
/** 2024-05-01T00:00:00Z */
const MAY_1 = Date.UTC(2024, 4, 1) / 1000;
const LIVE: ChatRef = { id: "-1001234", name: "Kreuzberg Crew", type: "public_supergroup", username: "kreuzberg" };
const EXPORTED: ChatRef = { id: "42", name: "Old friend", type: "personal_chat" };

function axis(i: number): number[] {
  return Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0));
}

/** Message `id` of `chat`, its vector the axis `id`, one day after the previous one. */
function message(chat: ChatRef, id: number, sender: { id: string | null; name: string | null }): EmbeddedMessage {
  const text = `party venue message ${id}`;
  return {
    v: 1,
    job_id: "job",
    chat,
    message_id: id,
    date: MAY_1 + id * 86_400,
    sender,
    reply_to: null,
    forwarded_from: null,
    edited: null,
    media: null,
    text,
    clean_text: text,
    lang: "en",
    vector: axis(id),
  };
}

describe("storage service over HTTP", () => {
  let system: Awaited<ReturnType<typeof storageService>>;
  let storage: StorageHandle;
  let service: Service;
  const get = async (url: string) => {
    const res = await service.app.inject({ url });
    return { status: res.statusCode, body: res.json() };
  };

  before(async () => {
    system = await storageService("http");
    ({ storage, service } = system);
    const ann = { id: "user1", name: "Ann" };
    const bob = { id: "user2", name: "Bob" };
    // As the store-topic consumer does.
    await storage.upsert([message(LIVE, 1, ann), message(LIVE, 2, bob), message(LIVE, 3, ann), message(EXPORTED, 4, { id: null, name: "Ghost" })]);
  });
  after(async () => {
    await system?.close();
  });

  it("POST /store keeps a JSON body's nulls as nulls (no type coercion of bodies)", async () => {
    const chat: ChatRef = { id: "77", name: "Posted", type: "private_group" };
    const res = await service.app.inject({ method: "POST", url: "/store", payload: { messages: [message(chat, 9, { id: null, name: "Zed" })] } });
    assert.equal(res.statusCode, 200, res.body);
    const { body } = await get(`/search?${new URLSearchParams({ q: "party venue message 9", mode: "keyword", chat: "77" })}`);
    assert.equal(body.results.length, 1);
    assert.equal(body.results[0].sender_id, null);
    assert.equal(body.results[0].sender, "Zed");
    // A string where an integer belongs is refused, not coerced either.
    const bad = await service.app.inject({
      method: "POST",
      url: "/store",
      payload: { messages: [{ ...message(chat, 10, { id: null, name: "Zed" }), message_id: "10" }] },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, "TGLENS_BAD_REQUEST");
    await storage.deleteChat("77");
  });

  it("lists chats with their username (null for exported chats), and serves one", async () => {
    const live = {
      chat_id: LIVE.id,
      name: LIVE.name,
      type: LIVE.type,
      username: "kreuzberg",
      messages: 3,
      senders: 2,
      first_date: "2024-05-02T00:00:00.000Z",
      last_date: "2024-05-04T00:00:00.000Z",
    };
    const exported = {
      chat_id: "42",
      name: "Old friend",
      type: "personal_chat",
      username: null,
      messages: 1,
      senders: 1,
      first_date: "2024-05-05T00:00:00.000Z",
      last_date: "2024-05-05T00:00:00.000Z",
    };
    assert.deepEqual(await get("/chats"), { status: 200, body: { chats: [live, exported] } });
    assert.deepEqual(await get(`/chats/${LIVE.id}`), { status: 200, body: live });
    assert.deepEqual(await get("/chats/42"), { status: 200, body: exported });
  });

  it("answers a chat's statistics", async () => {
    assert.deepEqual(await get(`/chats/${LIVE.id}/stats`), {
      status: 200,
      body: {
        chat_id: LIVE.id,
        name: LIVE.name,
        type: LIVE.type,
        username: "kreuzberg",
        messages: 3,
        senders: 2,
        first_date: "2024-05-02T00:00:00.000Z",
        last_date: "2024-05-04T00:00:00.000Z",
        top_senders: [
          { sender: "Ann", sender_id: "user1", messages: 2 },
          { sender: "Bob", sender_id: "user2", messages: 1 },
        ],
        by_month: [{ month: "2024-05", messages: 3 }],
      },
    });
    const exported = await get("/chats/42/stats");
    assert.deepEqual([exported.body.username, exported.body.top_senders], [null, [{ sender: "Ghost", sender_id: null, messages: 1 }]]);
  });

  for (const mode of ["keyword", "hybrid"]) {
    it(`reads a NUL or another control character in a ${mode} query as a space, never a 500 from FTS5`, async () => {
      const plain = await get(`/search?${new URLSearchParams({ q: "party venue", mode })}`);
      assert.equal(plain.status, 200);
      for (const q of ["party\u0000venue", "party venue\u0000", "\u0000party\u0001venue\u007f", '"party\u0000venue"', "party\u0000* venue"]) {
        const res = await get(`/search?${new URLSearchParams({ q, mode })}`);
        assert.equal(res.status, 200, `${JSON.stringify(q)}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(
          res.body.results.map((r: { message_id: number }) => r.message_id).sort(),
          plain.body.results.map((r: { message_id: number }) => r.message_id).sort(),
          JSON.stringify(q),
        );
      }
    });
  }

  for (const mode of ["semantic", "keyword", "hybrid"]) {
    it(`returns the chat's username with each ${mode} search result`, async () => {
      const { status, body } = await get(`/search?q=party+venue&k=10&mode=${mode}`);
      assert.equal(status, 200);
      assert.equal(body.results.length, 4);
      if (mode === "semantic") assert.deepEqual([body.results[0].message_id, body.results[0].score], [2, 1]); // the query's axis
      for (const r of body.results) assert.equal(r.chat_username, r.chat_id === LIVE.id ? "kreuzberg" : null, JSON.stringify(r));
    });
  }

  it("reads a date alone as the whole day: from its start, to its end (UTC)", async () => {
    const chat: ChatRef = { id: "78", name: "Dated", type: "private_group" };
    const noon = Date.UTC(2005, 1, 6, 12) / 1000; // 2005-02-06T12:00:00Z
    await storage.upsert([{ ...message(chat, 1, { id: null, name: "Zed" }), date: noon }]);
    try {
      const search = async (range: Record<string, string>) =>
        (await get(`/search?${new URLSearchParams({ q: "party venue", mode: "keyword", chat: "78", ...range })}`)).body.results?.length;
      assert.equal(await search({ from: "2005-02-06", to: "2005-02-06" }), 1, "a one-day range holds the day's messages");
      assert.equal(await search({ to: "2005-02-06T11:59" }), 0);
      assert.equal(await search({ to: "2005-02-06T12:00" }), 1, "a minute counts whole");
      assert.equal(await search({ from: "2005-02-07" }), 0);
      assert.equal(await search({ to: "2005-02-05" }), 0);
      assert.equal(await search({ from: String(noon), to: String(noon) }), 1, "unix seconds as before");
    } finally {
      await storage.deleteChat("78");
    }
  });

  for (const [param, value, why] of [
    ["to", "2005-02-30", /querystring\.to is not a real date.*February 2005 has 28 days/],
    ["from", "06.02.2005", /querystring\.from must be a date, YYYY-MM-DD/],
    ["to", "2005-13", /no month 13/],
  ] as const) {
    it(`refuses ${param}=${value} with 400 TGLENS_BAD_REQUEST, not a guess`, async () => {
      const countsBefore = await storage.stats();
      const res = await get(`/search?${new URLSearchParams({ q: "party venue", [param]: value })}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "TGLENS_BAD_REQUEST");
      assert.match(res.body.error.message, why);
      assert.deepEqual(await storage.stats(), countsBefore);
    });
  }

  it("matches a query with no meaning left once cleaned (a bare link) by keyword, in every mode", async () => {
    const chat: ChatRef = { id: "79", name: "Links", type: "private_group" };
    const link = "https://example.org/venue-map";
    await storage.upsert([
      { ...message(chat, 5, { id: null, name: "Zed" }), text: `map: ${link}`, clean_text: "map:" },
      { ...message(chat, 6, { id: null, name: "Zed" }), text: "no map here", clean_text: "no map here" },
    ]);
    try {
      for (const mode of ["semantic", "hybrid", "keyword"]) {
        const res = await get(`/search?${new URLSearchParams({ q: link, mode, k: "10" })}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(
          res.body.results.map((r: { chat_id: string; message_id: number }) => [r.chat_id, r.message_id]),
          [["79", 5]],
          mode,
        );
      }
    } finally {
      await storage.deleteChat("79");
    }
  });

  for (const q of ["🎉", "🎉🎉 👍", "!!! ★"]) {
    for (const mode of ["semantic", "hybrid", "keyword"]) {
      it(`answers the query ${JSON.stringify(q)} (${mode}) with 400 saying there is nothing to search for, not with nearest neighbours`, async () => {
        const countsBefore = await storage.stats();
        const res = await get(`/search?${new URLSearchParams({ q, mode })}`);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "TGLENS_BAD_REQUEST");
        assert.match(res.body.error.message, /nothing to search for/);
        assert.deepEqual(await storage.stats(), countsBefore);
      });
    }
  }

  for (const [what, url, status, code, field] of [
    ["an unknown chat", "/chats/777/stats", 404, "TGLENS_NOT_FOUND", /777/],
    ["a chat id that is not a number", "/chats/kreuzberg/stats", 400, "TGLENS_BAD_REQUEST", /params\.id/],
  ] as const) {
    it(`refuses the statistics of ${what} with ${status} ${code}, changing nothing`, async () => {
      const chatsBefore = await get("/chats");
      const countsBefore = await storage.stats();
      const res = await get(url);
      assert.equal(res.status, status);
      assert.equal(res.body.error.code, code);
      assert.match(res.body.error.message, field);
      assert.deepEqual(await get("/chats"), chatsBefore);
      assert.deepEqual(await storage.stats(), countsBefore);
    });
  }
});

describe("storage service: forgetting a chat", () => {
  let system: Awaited<ReturnType<typeof storageService>>;
  let bus: MemoryBus;
  let storage: StorageHandle;
  let service: Service;
  const ann = { id: "user1", name: "Ann" };

  before(async () => {
    system = await storageService("forget");
    ({ bus, storage, service } = system);
    await service.start();
    await storage.upsert([message(LIVE, 1, ann), message(LIVE, 2, ann), message(EXPORTED, 4, ann)]);
  });
  after(async () => {
    await system?.close();
  });

  it("forgets a chat's rows and vectors when asked on control-topic, confirms what it removed, and 0 when asked again", async () => {
    const answer = await askToForget(bus, "storage", LIVE.id);
    assert.deepEqual(answer.kind === "forgotten" && answer.removed, { chats: 1, messages: 2 });
    assert.equal(await storage.chat(LIVE.id), undefined);
    assert.deepEqual(await storage.searchSemantic(Float32Array.from(axis(1)), 5, { chat: LIVE.id }), []);
    assert.equal((await storage.chat(EXPORTED.id))?.messages, 1, "another chat stays");
    const again = await askToForget(bus, "storage", LIVE.id);
    assert.deepEqual(again.kind === "forgotten" && again.removed, { chats: 0, messages: 0 });
  });

  it("DELETE /chats/:id forgets a chat in storage only, then answers 404", async () => {
    const res = await service.app.inject({ method: "DELETE", url: `/chats/${EXPORTED.id}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { chat_id: EXPORTED.id, deleted: true, messages: 1 });
    assert.equal(await storage.chat(EXPORTED.id), undefined);
    const again = await service.app.inject({ method: "DELETE", url: `/chats/${EXPORTED.id}` });
    assert.equal(again.statusCode, 404);
    assert.equal(again.json().error.code, "TGLENS_NOT_FOUND");
    assert.equal((await service.app.inject({ method: "DELETE", url: "/chats/kreuzberg" })).statusCode, 400);
  });
});

describe("storage GET /search without k or mode", () => {
  let system: Awaited<ReturnType<typeof storageService>>;
  before(async () => {
    system = await storageService("defaults");
    const chat: ChatRef = { id: "88", name: "Many", type: "private_group" };
    await system.storage.upsert(Array.from({ length: 12 }, (_, i) => message(chat, i + 1, { id: "user1", name: "Ann" })));
  });
  after(async () => {
    await system?.close();
  });

  it("documents both as optional with their defaults in /openapi.json", async () => {
    const spec = (await system.service.app.inject({ url: "/openapi.json" })).json();
    const params = spec.paths["/search"].get.parameters as { name: string; required: boolean; schema: { default?: unknown } }[];
    const described = Object.fromEntries(params.map((p) => [p.name, [p.required, p.schema.default]]));
    assert.deepEqual(
      [described.q, described.k, described.mode],
      [
        [true, undefined],
        [false, 10],
        [false, "semantic"],
      ],
    );
  });

  it("applies the defaults: at most 10 results, by meaning", async () => {
    const res = await system.service.app.inject({ url: "/search?q=party+venue" });
    assert.equal(res.statusCode, 200, res.body);
    const { results } = res.json();
    assert.equal(results.length, 10);
    assert.deepEqual([results[0].message_id, results[0].score], [2, 1], "ranked by the query's vector, the axis 2");
  });
});
