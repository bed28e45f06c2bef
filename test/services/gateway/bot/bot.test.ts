/**
 * The Telegram bot end to end: a real embedded tglens (real model, SQLite, HTTP) whose gateway runs
 * the bot against a fake Bot API server on loopback (test/helpers/fake-bot-api.ts). A conversation
 * is played through it: help, /index of the team-chat fixture with progress to a completion
 * message, /search with the expected answers and paging with inline buttons, /similar, /chats,
 * /stats, /forget, a stranger refused with nothing else, a 429 waited out — and the bot token, a
 * canary, never appears in any log line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { createLogger } from "../../../../services/common/logger.ts";
import { createMemoryBus } from "../../../../services/common/memory-bus.ts";
import { startEmbedded, type EmbeddedSystem } from "../../../../services/run/embedded.ts";
import { REFUSAL } from "../../../../services/gateway/bot/bot.ts";
import { createGateway } from "../../../../services/gateway/index.ts";
import { FakeBotApi, type ApiCall } from "../../../helpers/fake-bot-api.ts";
import { captureLogs } from "../../../helpers/logs.ts";
import { testConfig } from "../../../helpers/system.ts";
import { TEAM_CHAT_EXPORT } from "../../../helpers/fixtures.ts";

const TOKEN = "7700000001:AAE-canary-TOKEN-must-never-be-logged";
const OWNER = 111;
const FRIEND = 112;
const STRANGER = 666;
const FIXTURES = path.resolve("test/fixtures/exports");
const expectations = JSON.parse(await fs.readFile(path.join(FIXTURES, "expectations.json"), "utf8"));
const team = expectations.files.find((f: any) => f.file === "team-chat/result.json").chats[0];
/** `messages` counts type-"message" entries (service messages are apart); the empty ones are dropped. */
const TEAM_STORED = team.messages - team.empty_message_ids.length;
const needles = expectations.needles.filter((n: any) => n.file === "team-chat/result.json" && n.mode === "semantic");

const textOf = (c: ApiCall) => String(c.payload.text ?? "");
const toChat = (chatId: number) => (c: ApiCall) => String(c.payload.chat_id) === String(chatId);

describe("Telegram bot against a fake Bot API", { timeout: 300_000 }, () => {
  const api = new FakeBotApi(TOKEN);
  const logs = captureLogs();
  let system: EmbeddedSystem;
  let root: string;

  before(async () => {
    await api.start();
    const config = await testConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_BOT_API_ROOT: api.url,
      TELEGRAM_ALLOWED_USER_IDS: `${OWNER},${FRIEND}`,
      TGLENS_LOG_LEVEL: "debug",
    });
    root = path.dirname(config.dataDir);
    await fs.copyFile(TEAM_CHAT_EXPORT, path.join(config.importDir, "team-chat.json"));
    system = await startEmbedded(config, createLogger({ level: "debug", destination: logs.stream, secrets: [TOKEN] }));
    await api.waitForCall((c) => c.method === "getUpdates");
  });

  after(async () => {
    await system?.close();
    await api.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  /** Sends a message as `user` and waits for the bot's next sendMessage to that user. */
  async function say(user: number, text: string, extra: Record<string, any> = {}): Promise<ApiCall> {
    const from = api.calls.length;
    api.sendText(user, text, extra);
    return api.waitForCall((c) => c.method === "sendMessage" && c.ok && toChat(user)(c), 60_000, from);
  }

  it("answers /start and /help with the commands", async () => {
    const start = await say(OWNER, "/start");
    assert.match(textOf(start), /\/search/);
    const help = await say(OWNER, "/help");
    for (const command of ["/search", "/similar", "/index", "/chats", "/stats", "/forget"]) assert.ok(textOf(help).includes(command), command);
    assert.ok(api.callsOf("setMyCommands").length >= 1, "the command menu is registered");
  });

  it("/index of an export reports progress in the same chat and ends with the stored count", async () => {
    const from = api.calls.length;
    const first = await say(OWNER, "/index team-chat.json");
    assert.match(textOf(first), /Indexing team-chat\.json/);
    const done = await api.waitForCall((c) => c.method === "sendMessage" && toChat(OWNER)(c) && /^Indexed /.test(textOf(c)), 120_000, from);
    assert.match(textOf(done), new RegExp(`${TEAM_STORED} messages`));
    const edits = api.calls.slice(from).filter((c) => c.method === "editMessageText" && toChat(OWNER)(c));
    assert.ok(edits.length >= 1, "the progress message was edited");
    assert.ok(
      edits.every((e) => e.payload.message_id === first.result.message_id),
      "edits go to the progress message",
    );
  });

  it("/search finds each needle among the top 5, with date, sender and snippet", async () => {
    for (const needle of needles.slice(0, 6)) {
      const reply = await say(OWNER, `/search ${needle.query}`);
      const text = textOf(reply);
      assert.equal(reply.payload.parse_mode, "HTML");
      const snippetStart = needle.text.slice(0, 25).replace(/&/g, "&amp;").replace(/</g, "&lt;");
      assert.ok(text.includes(snippetStart), `"${needle.query}" → ${text.slice(0, 400)}`);
      assert.match(text, /\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      assert.match(text, /^1\. <b>/m);
      assert.ok(!/^6\. /m.test(text), "five results per page");
    }
  });

  it("pages through results with inline buttons", async () => {
    const reply = await say(OWNER, "/search plans for the weekend");
    const keyboard = reply.payload.reply_markup?.inline_keyboard as { text: string; callback_data: string }[][];
    const next = keyboard?.flat().find((b) => b.text.startsWith("Next"));
    assert.ok(next, `a Next button: ${JSON.stringify(reply.payload.reply_markup)}`);
    const sent = api.callsOf("sendMessage").length;
    const from = api.calls.length;
    api.pressButton(OWNER, { message_id: 1, chat_id: OWNER }, next.callback_data);
    const edit = await api.waitForCall((c) => c.method === "editMessageText" && toChat(OWNER)(c), 30_000, from);
    assert.match(textOf(edit), /^6\. <b>/m, "page 2 starts at rank 6");
    const buttons = (edit.payload.reply_markup?.inline_keyboard as { text: string; callback_data: string }[][]).flat();
    assert.ok(buttons.some((b) => b.text.startsWith("« Previous")));
    await api.waitForCall((c) => c.method === "answerCallbackQuery", 10_000, from);
    assert.equal(api.callsOf("sendMessage").length, sent, "paging edits the message instead of sending a new one");
    // A button of a search the bot no longer knows asks for a new search.
    const from2 = api.calls.length;
    api.pressButton(OWNER, { message_id: 1, chat_id: OWNER }, "page:zzzz:1");
    const expired = await api.waitForCall((c) => c.method === "answerCallbackQuery", 10_000, from2);
    assert.match(String(expired.payload.text), /expired/);
  });

  it("answers a command sent without its bot_command entity (a minimal Bot API server)", async () => {
    const from = api.calls.length;
    api.push({
      message: {
        message_id: 4242,
        date: 1,
        from: { id: OWNER, is_bot: false, first_name: "O" },
        chat: { id: OWNER, type: "private" },
        text: `/search ${needles[1].query}`,
      },
    });
    const reply = await api.waitForCall((c) => c.method === "sendMessage" && c.ok && toChat(OWNER)(c), 30_000, from);
    assert.ok(textOf(reply).includes(needles[1].text.slice(0, 20)), textOf(reply).slice(0, 300));
  });

  it("treats plain text in a private chat as a search, and /similar searches like the replied-to message", async () => {
    const needle = needles[0];
    const plain = await say(FRIEND, needle.query);
    assert.ok(textOf(plain).includes(needle.text.slice(0, 20)), textOf(plain).slice(0, 300));
    const similar = await say(OWNER, "/similar", {
      reply_to_message: { message_id: 5, date: 1, chat: { id: OWNER, type: "private" }, text: needle.text },
    });
    assert.ok(textOf(similar).includes(needle.text.slice(0, 20)), textOf(similar).slice(0, 300));
    const usage = await say(OWNER, "/similar");
    assert.match(textOf(usage), /Reply to a message/);
  });

  it("indexes an export sent as a file, and explains what it cannot take", async () => {
    const content = await fs.readFile(path.join(FIXTURES, "full-account/result.json"));
    const from = api.calls.length;
    api.sendDocument(FRIEND, "result.json", content);
    const started = await api.waitForCall((c) => c.method === "sendMessage" && c.ok && toChat(FRIEND)(c), 60_000, from);
    assert.match(textOf(started), /^Indexing result\.json: \d+ messages/);
    const done = await api.waitForCall((c) => c.method === "sendMessage" && toChat(FRIEND)(c) && /^Indexed /.test(textOf(c)), 120_000, from);
    const full = expectations.files.find((f: any) => f.file === "full-account/result.json").chats;
    const fullStored = full.reduce((n: number, c: any) => n + c.messages - c.empty_message_ids.length, 0);
    assert.match(textOf(done), new RegExp(`Indexed result\\.json: <b>${fullStored} messages</b> stored`));
    const tooBig = api.calls.length;
    api.sendDocument(FRIEND, "huge.json", null);
    const refused = await api.waitForCall((c) => c.method === "sendMessage" && c.ok && toChat(FRIEND)(c), 30_000, tooBig);
    assert.match(textOf(refused), /20 MB.*\/index/);
    const notJson = api.calls.length;
    api.push({
      message: {
        message_id: 77,
        date: 1,
        from: { id: FRIEND, is_bot: false, first_name: "F" },
        chat: { id: FRIEND, type: "private" },
        document: { file_id: "x", file_unique_id: "x", file_name: "photo.png", mime_type: "image/png" },
      },
    });
    const hint = await api.waitForCall((c) => c.method === "sendMessage" && c.ok && toChat(FRIEND)(c), 30_000, notJson);
    assert.match(textOf(hint), /Export chat history/);
    // The download URL holds the token: it was used, and must not have reached a log line (checked below).
    assert.ok(api.paths.some((p) => p.startsWith(`/file/bot${TOKEN}/`)));
  });

  it("/chats and /stats describe the indexed chat", async () => {
    const chats = await say(OWNER, "/chats");
    assert.ok(textOf(chats).includes(team.id), textOf(chats));
    assert.match(textOf(chats), new RegExp(`${TEAM_STORED} messages`));
    const all = await say(OWNER, "/stats");
    assert.match(textOf(all), / messages in 4 chats/);
    const one = await say(OWNER, "/stats Kreuzberg");
    assert.match(textOf(one), new RegExp(`Messages: ${TEAM_STORED}`));
    assert.match(textOf(one), /Most active/);
    assert.ok(textOf(one).includes(team.senders[0].from) || team.senders.some((s: any) => textOf(one).includes(s.from)));
    const unknown = await say(OWNER, "/stats no such chat");
    assert.match(textOf(unknown), /No indexed chat matches/);
  });

  it("refuses a stranger once per message, with nothing else: no search, no data, no import", async () => {
    const jobsBefore = await (await fetch(`${system.config.urls.scraper}/jobs`)).json();
    const from = api.calls.length;
    const refusal = await say(STRANGER, `/search ${needles[0].query}`);
    assert.equal(textOf(refusal), REFUSAL);
    const refusal2 = await say(STRANGER, "/index team-chat.json");
    assert.equal(textOf(refusal2), REFUSAL);
    api.pressButton(STRANGER, { message_id: 1, chat_id: STRANGER }, "page:0:1");
    const answer = await api.waitForCall((c) => c.method === "answerCallbackQuery", 10_000, from);
    assert.equal(answer.payload.text, REFUSAL);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const toStranger = api.calls.slice(from).filter((c) => toChat(STRANGER)(c));
    assert.deepEqual(
      toStranger.map((c) => [c.method, String(c.payload.chat_id), textOf(c)]),
      [
        ["sendMessage", String(STRANGER), REFUSAL],
        ["sendMessage", String(STRANGER), REFUSAL],
      ],
    );
    const jobsAfter = await (await fetch(`${system.config.urls.scraper}/jobs`)).json();
    assert.deepEqual(jobsAfter, jobsBefore, "no import was started");
  });

  it("waits out a 429 from the Bot API and still answers", async () => {
    api.failNext("sendMessage", { error_code: 429, description: "Too Many Requests: retry after 1", parameters: { retry_after: 1 } });
    const t0 = Date.now();
    const reply = await say(OWNER, "/chats");
    const attempts = api.calls.filter((c) => c.method === "sendMessage" && c.at >= t0 && toChat(OWNER)(c));
    assert.ok(attempts.length >= 2 && !attempts[0]!.ok, "sent again after the 429");
    assert.ok(reply.at - attempts[0]!.at >= 900, `waited ${reply.at - attempts[0]!.at} ms`);
  });

  it("/index without Telegram credentials says which variable is missing", async () => {
    const reply = await say(OWNER, "/index @some_public_group");
    assert.match(textOf(reply), /TELEGRAM_API_ID/);
    // An expected refusal: warnings, no error, no stack trace, in the bot's log and the scraper's.
    const refusal = logs.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown })
      .filter((l) => JSON.stringify(l).includes("TGLENS_TELEGRAM_NOT_CONFIGURED"));
    assert.ok(refusal.length >= 2, JSON.stringify(refusal));
    for (const line of refusal) assert.equal(line.level, 40, JSON.stringify(line));
    assert.doesNotMatch(JSON.stringify(refusal), /"stack":"[^"]/);
  });

  it("/forget removes the chat", async () => {
    const reply = await say(OWNER, `/forget ${team.id}`);
    assert.match(textOf(reply), new RegExp(`Forgot .*${TEAM_STORED} messages`));
    const chats = (await (await fetch(`${system.config.urls.storage}/chats`)).json()) as { chats: { chat_id: string }[] };
    assert.deepEqual(chats.chats.map((c) => c.chat_id).sort(), ["1876543210", "587654321", "712345678"]);
  });

  it("never writes the bot token to a log line", () => {
    const all = logs.lines.join("");
    assert.ok(logs.lines.length > 20, "the system logged");
    assert.match(all, /refused a user/);
    assert.match(all, /Bot API call failed/, "the 429 was logged");
    assert.ok(!all.includes(TOKEN), "token in logs");
    assert.ok(!all.includes(TOKEN.split(":")[1]!), "token secret part in logs");
  });
});

describe("Telegram bot webhook mode", { timeout: 60_000 }, () => {
  const api = new FakeBotApi(TOKEN);
  const SECRET = "webhook-secret-canary-42";
  let gateway: Awaited<ReturnType<typeof createGateway>>;

  before(async () => {
    await api.start();
    const config = await testConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_BOT_API_ROOT: api.url,
      TELEGRAM_ALLOWED_USER_IDS: String(OWNER),
      TELEGRAM_WEBHOOK_URL: "https://tglens.example/telegram/webhook",
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      // With API tokens on, Telegram still reaches the webhook: it has its own secret, not a token.
      TGLENS_API_TOKEN: "api-token-not-for-telegram-0123",
    });
    gateway = await createGateway({ bus: createMemoryBus(), log: createLogger({ level: "silent" }), config });
    await gateway.start();
  });

  after(async () => {
    await gateway?.stop();
    await gateway?.app.close();
    await api.close();
  });

  it("registers the webhook with its secret, and polls nothing", () => {
    const set = api.callsOf("setWebhook");
    assert.equal(set.length, 1);
    assert.equal(set[0]!.payload.url, "https://tglens.example/telegram/webhook");
    assert.equal(set[0]!.payload.secret_token, SECRET);
    assert.equal(api.callsOf("getUpdates").length, 0);
  });

  it("refuses calls without the right secret token, and handles those with it (addressed to the webhook URL's host, no API token)", async () => {
    const update = {
      update_id: 1,
      message: {
        message_id: 1,
        date: 1,
        from: { id: OWNER, is_bot: false, first_name: "O" },
        chat: { id: OWNER, type: "private" },
        text: "/help",
        entities: [{ type: "bot_command", offset: 0, length: 5 }],
      },
    };
    for (const headers of [{}, { "x-telegram-bot-api-secret-token": "wrong" }, { "x-telegram-bot-api-secret-token": SECRET + "x" }]) {
      const res = await gateway.app.inject({
        method: "POST",
        url: "/telegram/webhook",
        payload: update,
        headers: { host: "tglens.example", ...headers },
      });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, "TGLENS_UNAUTHORIZED");
      assert.ok(!res.body.includes(SECRET));
    }
    assert.equal(api.callsOf("sendMessage").length, 0, "nothing handled without the secret");
    const ok = await gateway.app.inject({
      method: "POST",
      url: "/telegram/webhook",
      payload: update,
      headers: { host: "tglens.example", "x-telegram-bot-api-secret-token": SECRET },
    });
    assert.equal(ok.statusCode, 200);
    const reply = await api.waitForCall((c) => c.method === "sendMessage");
    assert.match(textOf(reply), /\/search/);
  });
});

describe("gateway without a bot token", () => {
  it("runs, and says which variable turns the bot on", async () => {
    const logs = captureLogs();
    const config = await testConfig();
    const gateway = await createGateway({ bus: createMemoryBus(), log: createLogger({ level: "info", destination: logs.stream }), config });
    await gateway.start();
    await gateway.stop();
    const health = await gateway.app.inject({ method: "GET", url: "/health" });
    assert.equal(health.statusCode, 200);
    await gateway.app.close();
    assert.match(logs.lines.join(""), /Telegram bot off: set TELEGRAM_BOT_TOKEN/);
  });
});
