/** The CLI's plain-text output: chats with their username, a chat's statistics, search results and a conversation. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChatMessage, ChatMessages, ChatStats as ChatStatsRow } from "../../services/gateway/api/client.ts";
import { formatChats, formatChatStats, formatConversation, formatLiveSummary, formatResults, formatSummary } from "../../cli/format.ts";
import type { JobStatus } from "../../services/common/jobs.ts";

const STATS: ChatStatsRow = {
  chat_id: "-1001234",
  name: "Kreuzberg Crew 🍻",
  type: "public_supergroup",
  username: "kreuzberg",
  messages: 201,
  senders: 12,
  first_date: "2024-01-08T19:02:00.000Z",
  last_date: "2024-04-14T09:40:27.000Z",
  top_senders: [
    { sender: "Anna Petrova", sender_id: "user5566778", messages: 88 },
    { sender: null, sender_id: "user2210987", messages: 32 },
    { sender: "Ghost", sender_id: null, messages: 3 },
  ],
  by_month: [
    { month: "2024-01", messages: 80 },
    { month: "2024-02", messages: 0 },
    { month: "2024-03", messages: 120 },
    { month: "2024-04", messages: 1 },
  ],
};

describe("CLI format", () => {
  it("lists chats with the username after the name, columns aligned as before", () => {
    const exported = { ...STATS, chat_id: "42", name: "Old friend", type: "personal_chat", username: null, messages: 7, senders: 2 };
    assert.equal(
      formatChats([STATS, exported]),
      [
        "id        messages  senders  type               name",
        "-1001234  201       12       public_supergroup  Kreuzberg Crew 🍻 (@kreuzberg)",
        "42        7         2        personal_chat      Old friend",
        "",
      ].join("\n"),
    );
  });

  it("prints a chat's statistics: summary, most active senders, a bar per month", () => {
    const bar = (n: number) => "█".repeat(n);
    assert.equal(
      formatChatStats(STATS),
      [
        "Kreuzberg Crew 🍻 (@kreuzberg) · chat -1001234 · public_supergroup",
        "messages  senders  first (UTC)       last (UTC)",
        "201       12       2024-01-08 19:02  2024-04-14 09:40",
        "",
        "most active senders",
        "messages  id           sender",
        "88        user5566778  Anna Petrova",
        "32        user2210987  (unknown)",
        "3         -            Ghost",
        "",
        "messages per month (UTC)",
        "month    messages",
        `2024-01  80        ${bar(27)}`, // 80/120 of 40 characters, rounded up
        "2024-02  0",
        `2024-03  120       ${bar(40)}`,
        `2024-04  1         ${bar(1)}`, // any message shows
        "",
      ].join("\n"),
    );
  });

  it("prints a conversation: the target marked, replies indented with what they answer, the replies further on, links", () => {
    const m = (id: number, over: Partial<ChatMessage> = {}): ChatMessage => ({
      message_id: id,
      date: `2024-01-19T21:${String(id).padStart(2, "0")}:30.000Z`,
      sender: "Anna Petrova",
      sender_id: "user1",
      text: `message ${id}`,
      lang: "en",
      link: `https://t.me/c/1498765432/${id}`,
      reply_to: null,
      forwarded_from: null,
      edited: null,
      media: null,
      is_target: false,
      ...over,
    });
    const page: ChatMessages = {
      chat: { chat_id: "1498765432", name: "Kreuzberg Crew 🍻", type: "private_supergroup", username: null, link_note: null },
      target: 20,
      messages: [m(19, { reply_to: 3, sender: null }), m(20, { is_target: true, text: "", media: "photo" }), m(21, { reply_to: 20 })],
      replied_to: [m(3, { sender: "Mike", text: "the\noriginal" })],
      replies: [m(40, { reply_to: 20, text: "late   answer" })],
      before: { message_id: 19, more: true },
      after: { message_id: 21, more: false },
    };
    assert.equal(
      formatConversation(page),
      [
        "Kreuzberg Crew 🍻 · chat 1498765432 · message #20",
        "  ⋮",
        "         ┆ #3 2024-01-19 21:03 Mike: the original",
        "    ↳ 2024-01-19 21:19  #19  (unknown) (reply to #3): message 19  https://t.me/c/1498765432/19",
        "▶ 2024-01-19 21:20  #20  Anna Petrova: [photo]  https://t.me/c/1498765432/20",
        "    ↳ 2024-01-19 21:21  #21  Anna Petrova (reply to #20): message 21  https://t.me/c/1498765432/21",
        "",
        "replies to #20 further on:",
        "    ↳ 2024-01-19 21:40  #40  Anna Petrova (reply to #20): late answer  https://t.me/c/1498765432/40",
        "",
      ].join("\n"),
    );
    const personal = formatConversation({
      ...page,
      chat: { ...page.chat, type: "personal_chat", link_note: "Telegram has no links to messages of private chats" },
      messages: [m(5, { link: null, is_target: true })],
      replied_to: [],
      replies: [],
      before: { message_id: 5, more: false },
      target: 5,
    });
    assert.equal(
      personal,
      "Kreuzberg Crew 🍻 · chat 1498765432 · message #5\n▶ 2024-01-19 21:05  #5  Anna Petrova: message 5\n\n" +
        "no links: Telegram has no links to messages of private chats\n",
    );
  });

  it("prints a search result's link under its text when it has one", () => {
    const hit = {
      chat_id: "1",
      chat_name: "Crew",
      chat_username: "crew",
      message_id: 7,
      date: "2024-01-01T10:00:00.000Z",
      sender: "Ann",
      sender_id: "user1",
      text: "the venue",
      lang: "en",
      score: 0.5,
    };
    assert.equal(
      formatResults([
        { ...hit, link: "https://t.me/crew/7" },
        { ...hit, link: null },
      ]),
      " 1. 0.500  2024-01-01 10:00  Ann in Crew #7\n    the venue\n    https://t.me/crew/7\n" +
        " 2. 0.500  2024-01-01 10:00  Ann in Crew #7\n    the venue\n",
    );
  });

  it("prints a chat without a username or senders", () => {
    const out = formatChatStats({ ...STATS, username: null, top_senders: [], first_date: null, last_date: null, by_month: [] });
    assert.match(out, /^Kreuzberg Crew 🍻 · chat -1001234 · public_supergroup\n/);
    assert.match(out, /\n201 +12 +- +-\n/);
    assert.match(out, /most active senders\n {2}\(none\)\n/);
  });

  it("ends an import and a live read with the same counts line, and the error when there is one", () => {
    const job: JobStatus = {
      job_id: "j",
      state: "done",
      source: "@crew",
      created_at: "",
      updated_at: "",
      finished_at: "",
      expected: null,
      counters: { scraped: 120, skipped: 3, cleaned: 110, dropped: 10, embedded: 110, stored: 110, failed: 0, replaced: 0 },
      chats: [],
      error: null,
      errors: [],
      resume_at: null,
      note: null,
    };
    assert.equal(
      formatLiveSummary({ job_id: "j", chat: "@crew" }, job),
      "read: @crew\nmessages: 120, skipped (service): 3, indexed: 110, empty after cleaning: 10, failed: 0\n",
    );
    const failed = { ...job, state: "failed" as const, error: { code: "TGLENS_CHAT_NOT_FOUND", message: "no chat @crew" } };
    assert.equal(
      formatSummary({ job_id: "j", chats: [{ id: "42", name: "Crew", type: "private_group" }], messages: 120, skipped: 3 }, failed),
      "import failed: 1 chat(s)\n  42  Crew (private_group)\n" +
        "messages: 120, skipped (service): 3, indexed: 110, empty after cleaning: 10, failed: 0\n" +
        "error: no chat @crew (TGLENS_CHAT_NOT_FOUND)\n",
    );
  });
});
