/**
 * Telegram end to end, with the two Telegram servers faked (they cannot be reached here) and
 * everything of tglens real: the bot on the gateway talks to a fake Bot API, the scraper reads a
 * public group through a fake GramJS client (test/helpers/fake-telegram.ts), and the preprocessor,
 * the real model and storage sit in between. `/index @group` flows through scrape-topic to a
 * completion message with the count; `/search` answers from the live-read messages with t.me links;
 * a second `/index` reads only the messages posted since. The bot token, the API hash and the
 * session string — canaries here — appear in no log line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { Api } from "telegram";
import { createLogger } from "../../services/common/logger.ts";
import { startEmbedded, type EmbeddedSystem } from "../../services/run/embedded.ts";
import { FakeBotApi, type ApiCall } from "../helpers/fake-bot-api.ts";
import { captureLogs } from "../helpers/logs.ts";
import { channel, FakeTelegram, HISTORY_START, peerOf, user } from "../helpers/fake-telegram.ts";
import { testConfig } from "../helpers/system.ts";

const TOKEN = "7700000002:AAF-live-canary-token";
const API_HASH = "0123456789abcdef-canary-api-hash";
const SESSION = "1BQANOTAREAL-canary-session-string-xyz";
const OWNER = 4242;

const anna = user(501, "Anna", "Petrova");
const tom = user(502, "Tom", "Becker");
const group = channel(1_555_000_111, "Venue Planning", { username: "venue_planners", megagroup: true });
const LINES = [
  "Morning all, who is bringing the speakers on Saturday?",
  "I can bring mine, they are loud enough for the garden",
  "We booked the old brewery on Kastanienallee for the party, deposit is paid",
  "Nice! How many people fit in there?",
  "About eighty, and they have a kitchen we can use",
  "Should we order pizza or cook ourselves?",
  "Cooking is cheaper, I can make a huge pot of chili",
  "Don't forget vegetarian options please",
  "My train is delayed, I will be twenty minutes late",
  "The invoice for the drinks came in, 240 euros",
];
const message = (id: number, text: string, from: Api.User) =>
  new Api.Message({ id, peerId: peerOf(group), date: HISTORY_START + id * 60, fromId: new Api.PeerUser({ userId: from.id }), message: text });

describe("Telegram end to end: bot → live read → search", { timeout: 300_000 }, () => {
  const botApi = new FakeBotApi(TOKEN);
  const telegram = new FakeTelegram({
    chats: [{ entity: group, messages: LINES.map((t, i) => message(i + 1, t, i % 2 ? tom : anna)) }],
    users: [anna, tom],
  });
  const { lines, stream } = captureLogs();
  let system: EmbeddedSystem;
  let root: string;

  before(async () => {
    await botApi.start();
    const config = await testConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_BOT_API_ROOT: botApi.url,
      TELEGRAM_ALLOWED_USER_IDS: String(OWNER),
      TELEGRAM_API_ID: "12345",
      TELEGRAM_API_HASH: API_HASH,
      TELEGRAM_SESSION: SESSION,
      TGLENS_SCRAPE_PAGE_DELAY_MS: "0",
      TGLENS_LOG_LEVEL: "debug",
    });
    root = path.dirname(config.dataDir);
    const log = createLogger({ level: "debug", secrets: [TOKEN, API_HASH, SESSION], destination: stream });
    system = await startEmbedded(config, log, { telegram: { clientFactory: () => telegram } });
    await botApi.waitForCall((c) => c.method === "getUpdates");
  });

  after(async () => {
    await system?.close();
    await botApi.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const text = (c: ApiCall) => String(c.payload.text ?? "");

  async function indexAndWait(): Promise<{ first: ApiCall; done: ApiCall }> {
    const from = botApi.calls.length;
    botApi.sendText(OWNER, "/index @venue_planners");
    const first = await botApi.waitForCall((c) => c.method === "sendMessage" && c.ok, 30_000, from);
    const done = await botApi.waitForCall((c) => c.method === "sendMessage" && /^Indexed /.test(text(c)), 120_000, from);
    return { first, done };
  }

  it("/index @group reads the group live and reports the count when it is searchable", async () => {
    const { first, done } = await indexAndWait();
    assert.match(text(first), /^Indexing @venue_planners/);
    assert.match(text(done), new RegExp(`Indexed @venue_planners: <b>${LINES.length} messages</b> stored`));
    const chats = (await (await fetch(`${system.config.urls.storage}/chats`)).json()) as {
      chats: { chat_id: string; username: string | null; messages: number }[];
    };
    assert.deepEqual(
      chats.chats.map((c) => [c.chat_id, c.username, c.messages]),
      [["1555000111", "venue_planners", LINES.length]],
    );
  });

  it("/search answers by meaning, with a t.me link to the message", async () => {
    const from = botApi.calls.length;
    botApi.sendText(OWNER, "/search where did we decide on the venue");
    const reply = await botApi.waitForCall((c) => c.method === "sendMessage" && c.ok, 60_000, from);
    const first = text(reply).split("\n\n")[1] ?? "";
    assert.match(first, /^1\. <b>Anna Petrova<\/b>/, text(reply));
    assert.match(first, /old brewery on Kastanienallee/);
    assert.match(first, /https:\/\/t\.me\/venue_planners\/3$/m);
  });

  it("a second /index reads only what was posted since", async () => {
    const before = telegram.calls.filter((c) => c.method === "getMessages").length;
    telegram.append(group, [
      message(11, "Update: the brewery wants the music off by midnight", tom),
      message(12, "Fine by me, we can move to the bar after", anna),
    ]);
    const { done } = await indexAndWait();
    assert.match(text(done), /Indexed @venue_planners: <b>2 messages<\/b> stored/);
    const asked = telegram.calls
      .filter((c) => c.method === "getMessages")
      .slice(before)
      .map((c) => (c.params as { minId?: number }).minId);
    assert.equal(asked[0], LINES.length, "the read starts after the checkpoint");
    const chats = (await (await fetch(`${system.config.urls.storage}/chats`)).json()) as { chats: { messages: number }[] };
    assert.equal(chats.chats[0]!.messages, LINES.length + 2);
  });

  it("never logs the bot token, the API hash or the session", () => {
    const all = lines.join("");
    assert.ok(lines.length > 20);
    for (const secret of [TOKEN, API_HASH, SESSION]) assert.ok(!all.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}…`);
  });
});
