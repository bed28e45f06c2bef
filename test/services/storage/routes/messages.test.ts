/**
 * GET /chats/:id/messages over HTTP: a message in its context and the messages from a date, in chat
 * order, with their links, what they reply to and the replies; paging up and down by the cursors;
 * and every refusal in the one error shape. Search results carry the same links.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChatRef, EmbeddedMessage } from "../../../../services/common/schemas.ts";
import { axis, embeddedRecord } from "../../../helpers/records.ts";
import { storageService } from "../helpers.ts";

/** 2024-05-01T00:00:00Z; message `id` is sent `id` minutes later. */
const MAY_1 = Date.UTC(2024, 4, 1) / 1000;
const SUPER: ChatRef = { id: "1498765432", name: "Crew", type: "private_supergroup" };
const PUBLIC: ChatRef = { id: "-1001234", name: "Kreuzberg", type: "public_supergroup", username: "kreuzberg" };
const PRIVATE: ChatRef = { id: "42", name: "Old friend", type: "personal_chat" };

function message(chat: ChatRef, id: number, over: Partial<EmbeddedMessage> = {}): EmbeddedMessage {
  return embeddedRecord(chat.id, id, axis(id), {
    chat,
    date: MAY_1 + id * 60,
    sender: { id: `user${id % 2}`, name: id % 2 ? "Ann" : "Bob" },
    text: `party venue message ${id}`,
    ...over,
  });
}

type Body = Record<string, unknown> & {
  messages: Array<{ message_id: number; is_target: boolean; link: string | null }>;
  replied_to: Array<{ message_id: number }>;
  replies: Array<{ message_id: number }>;
  before: { message_id: number | null; more: boolean };
  after: { message_id: number | null; more: boolean };
};
/** What a message that is no reply, forward, edit or media, and not the target, has in its other fields. */
const PLAIN = { reply_to: null, forwarded_from: null, edited: null, media: null, is_target: false };
const idsOf = (list: Array<{ message_id: number }>) => list.map((m) => m.message_id);

describe("storage GET /chats/:id/messages", () => {
  let system: Awaited<ReturnType<typeof storageService>>;
  const get = async (url: string) => {
    const res = await system.service.app.inject({ url });
    return { status: res.statusCode, body: res.json() as Body };
  };

  before(async () => {
    system = await storageService("messages");
    // 1..40 of the supergroup; 5 replies to 3, 30 to 12 and 13 to 35; 41 is an edited photo.
    const replyTo: Record<number, number> = { 5: 3, 30: 12, 13: 35 };
    await system.storage.upsert([
      ...Array.from({ length: 40 }, (_, i) => message(SUPER, i + 1, { reply_to: replyTo[i + 1] ?? null })),
      message(SUPER, 41, { media: "photo", edited: MAY_1 + 90 * 60, forwarded_from: "News" }),
      message(PUBLIC, 1),
      message(PUBLIC, 2),
      message(PRIVATE, 1),
    ]);
  });
  after(async () => {
    await system?.close();
  });

  it("answers a message in its context: the messages before and after it, the target marked, replies, cursors", async () => {
    const { status, body } = await get(`/chats/${SUPER.id}/messages?around=12&before=2&after=1`);
    assert.equal(status, 200, JSON.stringify(body));
    const shown = (id: number, over: Record<string, unknown> = {}) => ({
      message_id: id,
      date: new Date((MAY_1 + id * 60) * 1000).toISOString(),
      sender: id % 2 ? "Ann" : "Bob",
      sender_id: `user${id % 2}`,
      text: `party venue message ${id}`,
      lang: "en",
      link: `https://t.me/c/${SUPER.id}/${id}`,
      ...PLAIN,
      ...over,
    });
    assert.deepEqual(body, {
      chat: { chat_id: SUPER.id, name: "Crew", type: "private_supergroup", username: null, link_note: null },
      target: 12,
      messages: [shown(10), shown(11), shown(12, { is_target: true }), shown(13, { reply_to: 35 })],
      replied_to: [shown(35)],
      replies: [shown(30, { reply_to: 12 })],
      before: { message_id: 10, more: true },
      after: { message_id: 13, more: true },
    });
    const photo = (await get(`/chats/${SUPER.id}/messages?around=41&before=0&after=0`)).body;
    assert.deepEqual(photo.messages, [
      shown(41, { is_target: true, media: "photo", edited: new Date((MAY_1 + 90 * 60) * 1000).toISOString(), forwarded_from: "News" }),
    ]);
    assert.deepEqual(
      [photo.before, photo.after],
      [
        { message_id: 41, more: true },
        { message_id: 41, more: false },
      ],
    );
  });

  it("reads 10 on each side by default, at most the chat's ends", async () => {
    assert.deepEqual(
      idsOf((await get(`/chats/${SUPER.id}/messages?around=20`)).body.messages),
      Array.from({ length: 21 }, (_, i) => 10 + i),
    );
    const first = (await get(`/chats/${SUPER.id}/messages?around=2`)).body;
    assert.deepEqual([idsOf(first.messages).length, first.before.more, first.after.more], [12, false, true]);
  });

  it("pages up and down by the cursors until the chat's ends, every message once", async () => {
    const seen = new Set<number>([12]);
    let up = (await get(`/chats/${SUPER.id}/messages?around=12&before=3&after=3`)).body;
    let down = up;
    for (const m of up.messages) seen.add(m.message_id);
    while (up.before.more) {
      up = (await get(`/chats/${SUPER.id}/messages?around=${up.before.message_id}&before=4&after=0`)).body;
      for (const m of up.messages) seen.add(m.message_id);
    }
    while (down.after.more) {
      down = (await get(`/chats/${SUPER.id}/messages?around=${down.after.message_id}&before=0&after=4`)).body;
      for (const m of down.messages) seen.add(m.message_id);
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
  });

  it("browses from a date (a day from its start, or unix seconds), and from the first message without one", async () => {
    const from = async (query: string) => (await get(`/chats/${SUPER.id}/messages?${query}`)).body;
    const day = await from("from=2024-05-01&limit=3");
    assert.deepEqual([body(day)], [[[1, 2, 3], null, { message_id: 1, more: false }, { message_id: 3, more: true }]]);
    const minute = await from(`from=2024-05-01T00:05&limit=2`);
    assert.deepEqual(body(minute), [[5, 6], null, { message_id: 5, more: true }, { message_id: 6, more: true }]);
    assert.deepEqual(idsOf(minute.replied_to), [3], "what 5 replies to");
    assert.deepEqual(body(await from(`from=${MAY_1 + 39 * 60}`)), [
      [39, 40, 41],
      null,
      { message_id: 39, more: true },
      { message_id: 41, more: false },
    ]);
    assert.equal(idsOf((await from("")).messages).length, 41, "from the chat's first message, 50 at most");
    assert.deepEqual(body(await from("from=2024-06-01")), [[], null, { message_id: null, more: true }, { message_id: null, more: false }]);
    function body(b: Body) {
      assert.ok(b.messages.every((m) => !m.is_target));
      assert.deepEqual(b.replies, []);
      return [idsOf(b.messages), b.target, b.before, b.after];
    }
  });

  it("links messages of a public chat by its username, and says why a private chat's have none", async () => {
    const pub = (await get(`/chats/${PUBLIC.id}/messages?around=1`)).body;
    assert.deepEqual(
      pub.messages.map((m) => m.link),
      ["https://t.me/kreuzberg/1", "https://t.me/kreuzberg/2"],
    );
    assert.deepEqual(pub.chat, { chat_id: PUBLIC.id, name: "Kreuzberg", type: "public_supergroup", username: "kreuzberg", link_note: null });
    const personal = (await get(`/chats/${PRIVATE.id}/messages?from=0`)).body;
    assert.deepEqual(
      personal.messages.map((m) => m.link),
      [null],
    );
    assert.match(String((personal.chat as { link_note: string }).link_note), /no links to messages of private chats/);
    // Search results carry the same links.
    const { results } = (await system.service.app.inject({ url: "/search?q=party+venue&mode=keyword&k=100" })).json() as {
      results: Array<{ chat_id: string; message_id: number; link: string | null }>;
    };
    const link = (chat: string, id: number) => results.find((r) => r.chat_id === chat && r.message_id === id)?.link;
    assert.deepEqual(
      [link(SUPER.id, 7), link(PUBLIC.id, 2), link(PRIVATE.id, 1)],
      [`https://t.me/c/${SUPER.id}/7`, "https://t.me/kreuzberg/2", null],
    );
  });

  for (const [query, status, message] of [
    ["around=999", 404, `no message 999 in chat ${SUPER.id}`],
    ["around=abc", 400, "querystring.around must be integer"],
    ["around=1.5", 400, "querystring.around must be integer"],
    ["around=12&before=101", 400, "querystring.before must be <= 100"],
    ["around=12&after=-1", 400, "querystring.after must be >= 0"],
    ["around=12&from=2024-05-01", 400, /^querystring\.around and querystring\.from cannot be used together/],
    ["from=2024-05-01&before=3", 400, /^querystring\.before goes with around=<message id>/],
    ["after=3", 400, /^querystring\.after goes with around=<message id>/],
    ["around=12&limit=3", 400, /^querystring\.limit goes with from=<date>/],
    ["from=2024-05-01&limit=0", 400, "querystring.limit must be >= 1"],
    ["from=01.05.2024", 400, /^querystring\.from must be a date, YYYY-MM-DD/],
    ["from=2024-02-30", 400, /^querystring\.from is not a real date/],
    ["around=12&page=2", 400, "querystring must NOT have additional properties"],
  ] as const) {
    it(`refuses ${query} with ${status}`, async () => {
      const res = await get(`/chats/${SUPER.id}/messages?${query}`);
      const error = (res.body as unknown as { error: { code: string; message: string } }).error;
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(error.code, status === 404 ? "TGLENS_NOT_FOUND" : "TGLENS_BAD_REQUEST");
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
    });
  }

  it("answers 404 for an unknown chat, whichever way asked, and 400 for a chat id that is not one", async () => {
    for (const query of ["around=1", "from=0", ""]) {
      const res = await get(`/chats/777/messages?${query}`);
      assert.deepEqual([res.status, res.body], [404, { error: { code: "TGLENS_NOT_FOUND", message: "no chat 777" } }], query);
    }
    assert.equal((await get("/chats/crew/messages?around=1")).status, 400);
  });
});
