/**
 * The message store: its schema (migrations, upgrading a database made by an older tglens), chat
 * statistics and their query plans (plans do not depend on the row count: there is no ANALYZE),
 * and a deletion that leaves none of the chat's text in the files.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { EMBEDDING_DIM } from "../../../services/common/schemas.ts";
import {
  BY_MONTH_SQL,
  DATABASE_SCHEMA_VERSION,
  MessageStore,
  MIGRATIONS,
  migrate,
  openDatabase,
  PAGE_SQL,
  prepareRetained,
  TOP_SENDERS_SQL,
} from "../../../services/storage/message-store.ts";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import { rejectsWith } from "../../helpers/errors.ts";
import { axis, embeddedRecord, T0 } from "../../helpers/records.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { batch, msg } from "./helpers.ts";

const tempDir = scratchDirs("message-store");

type Row = Record<string, unknown>;
function rows(dbPath: string, sql: string): Row[] {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return prepareRetained(db, sql).all() as Row[];
  } finally {
    db.close();
  }
}

test("a database of schema v1 gains chats.username, the covering sender index and the page indexes, losing nothing", async () => {
  const dir = tempDir();
  const dbPath = join(dir, "messages.db");
  // Migrations are append-only, so the first one is the v1 schema exactly as tglens shipped it.
  const v1 = openDatabase(dbPath);
  assert.equal(migrate(v1, MIGRATIONS.slice(0, 1)), 1);
  const insertChat = prepareRetained(v1, "INSERT INTO chats(chat_id, name, type, gen) VALUES (?, ?, ?, ?)");
  const insertMessage = prepareRetained(
    v1,
    `INSERT INTO messages(chat_id, message_id, seq, date, sender_id, sender, sender_key, text, clean_text, lang, vec)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'en', ?)`,
  );
  insertChat.run("-100", "Old group", "private_supergroup", 1);
  insertChat.run("7", "Old friend", "personal_chat", 4);
  const old: Array<[string, number, string | null, string | null, string]> = [
    ["-100", 1, "user1", "Ann", "the venue is the old brewery"],
    ["-100", 2, "user2", "Bob", "tickets are sold out"],
    ["7", 1, null, "Ghost", "see you at the airport"],
  ];
  old.forEach(([chat, id, senderId, sender, text], i) => {
    const vec = Buffer.from(new Float32Array(axis(i)).buffer);
    insertMessage.run(chat, id, i + 2, T0 + i * 60, senderId, sender, sender?.toLowerCase() ?? null, text, text, vec);
  });
  prepareRetained(v1, "UPDATE meta SET value = 6 WHERE key = 'next_seq'").run();
  v1.close();
  const messagesBefore = rows(dbPath, "SELECT * FROM messages ORDER BY chat_id, message_id");
  const chatsBefore = rows(dbPath, "SELECT * FROM chats ORDER BY chat_id");

  const s = await openStorage({ dir });
  assert.deepEqual(
    (await s.chats()).map((c) => [c.chat_id, c.name, c.username, c.messages]),
    [
      ["7", "Old friend", null, 1],
      ["-100", "Old group", null, 2],
    ],
  );
  assert.deepEqual(
    (await s.searchKeyword("brewery", 10, {})).map((h) => [h.chat_id, h.message_id, h.chat_username]),
    [["-100", 1, null]],
  );
  assert.deepEqual(
    (await s.searchSemantic(axis(1), 1, {})).map((h) => [h.chat_id, h.message_id, h.score]),
    [["-100", 2, 1]],
  );
  assert.deepEqual(
    (await s.chatStats("-100"))!.top_senders.map((t) => t.sender),
    ["Ann", "Bob"],
  );
  // Live reading of the old chat now records its username.
  const live = embeddedRecord("-100", 3, axis(3), {
    job_id: "live",
    chat: { id: "-100", name: "Old group", type: "private_supergroup", username: "oldgroup" },
    date: T0 + 600,
    text: "new message",
  });
  assert.deepEqual(await s.upsert([live]), { inserted: 1, updated: 0, unchanged: 0 });
  assert.equal((await s.chat("-100"))!.username, "oldgroup");
  await s.close();

  assert.deepEqual(
    rows(dbPath, "SELECT * FROM messages WHERE NOT (chat_id = '-100' AND message_id = 3) ORDER BY chat_id, message_id"),
    messagesBefore,
  );
  assert.deepEqual(
    rows(dbPath, "SELECT * FROM chats ORDER BY chat_id"),
    chatsBefore.map((c) => ({ ...c, username: c.chat_id === "-100" ? "oldgroup" : null })),
  );
  assert.deepEqual(rows(dbPath, "PRAGMA user_version"), [{ user_version: DATABASE_SCHEMA_VERSION }]);
  assert.deepEqual(
    rows(dbPath, "PRAGMA index_info(messages_chat_sender)").map((r) => r.name),
    ["chat_id", "sender_id", "sender_key", "date", "sender"],
  );
  assert.deepEqual(
    rows(dbPath, "PRAGMA index_info(messages_chat_date)").map((r) => r.name),
    ["chat_id", "date", "message_id"],
  );
  assert.deepEqual(
    rows(dbPath, "PRAGMA index_info(messages_chat_reply)").map((r) => r.name),
    ["chat_id", "reply_to", "date", "message_id"],
  );
  const db = openDatabase(dbPath);
  db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"); // throws if FTS drifted
  db.close();
  // Opening again runs no migration twice.
  const again = await openStorage({ dir });
  assert.equal((await again.chat("-100"))!.messages, 3);
  await again.close();
});

test("chat statistics read index entries only: no table scan, one pass over a chat's senders", () => {
  const path = join(tempDir(), "messages.db");
  const store = new MessageStore(path); // creates the schema
  const db = openDatabase(path);
  const plan = (sql: string, params: Record<string, unknown>) =>
    (prepareRetained(db, `EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail);

  const senders = plan(TOP_SENDERS_SQL, { chat: "1", limit: 5 });
  const senderReads = senders.filter((d) => /\bmessages\b/.test(d));
  assert.deepEqual(senderReads, ["SEARCH messages USING COVERING INDEX messages_chat_sender (chat_id=?)"], senders.join("\n"));
  assert.ok(!senders.some((d) => d.includes("CORRELATED")), senders.join("\n"));

  const months = plan(BY_MONTH_SQL, { chat: "1" });
  const monthReads = months.filter((d) => /\bmessages\b/.test(d));
  assert.ok(monthReads.length > 0);
  for (const d of monthReads) assert.match(d, /^SEARCH messages USING COVERING INDEX messages_chat_date \(chat_id=\?/, months.join("\n"));
  db.close();
  store.close();
});

test("pages of a chat read index ranges in chat order: no table scan, no sort", () => {
  const path = join(tempDir(), "messages.db");
  const store = new MessageStore(path);
  const db = openDatabase(path);
  const params = { chat: "1", id: 5, date: T0, from: T0, limit: 10, ids: "[1,2]", fd: T0, fi: 1, ld: T0, li: 9 };
  const plans = Object.entries(PAGE_SQL).map(([name, sql]) => {
    const details = (prepareRetained(db, `EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail);
    return [name, details.filter((d) => /\b(messages|m)\b/.test(d)), details.some((d) => d.includes("TEMP B-TREE"))] as const;
  });
  const index = (name: string) => new RegExp(`^SEARCH (m|messages) USING (COVERING )?INDEX ${name} \\(chat_id=\\? AND`);
  const expected: Record<string, RegExp> = {
    message: index("sqlite_autoindex_messages_2"),
    before: index("messages_chat_date"),
    after: index("messages_chat_date"),
    from: index("messages_chat_date"),
    hasBefore: index("messages_chat_date"),
    byIds: index("sqlite_autoindex_messages_2"),
    repliesOutside: index("messages_chat_reply"),
  };
  for (const [name, reads, sorts] of plans) {
    assert.equal(reads.length, 1, `${name}: ${reads.join("; ")}`);
    assert.match(reads[0]!, expected[name]!, name);
    // Looking up a handful of ids sorts those few rows; every range is read in index order.
    assert.equal(sorts, name === "byIds", `${name} sorts`);
  }
  db.close();
  store.close();
});

test("deleting a chat leaves none of its text in the database files: free pages, WAL and FTS5 segments included", async () => {
  const dir = tempDir();
  const canary = "zqxvorpelcanary";
  const keeper = "wumbleflintkeeper";
  const message = (chat: string, id: number, word: string) =>
    embeddedRecord(chat, id, axis(id % EMBEDDING_DIM), {
      job_id: "j",
      text: id % 3 === 0 ? `note ${id}: ${word} was mentioned at the meeting` : `note ${id}: the meeting was moved to room ${id}`,
    });
  const block = (chat: string, from: number, word: string) => Array.from({ length: 500 }, (_, i) => message(chat, from + i, word));
  const filesWith = (word: string) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && readFileSync(join(e.parentPath, e.name)).includes(Buffer.from(word)))
      .map((e) => e.name);

  const s = await openStorage({ dir });
  for (let from = 1; from <= 3000; from += 500) {
    await s.upsert(block("-100", from, canary));
    await s.upsert(block("42", from, keeper));
  }
  // Part of the chat goes into the main file (checkpointed), part stays in the WAL, as in real use.
  const other = openDatabase(join(dir, "messages.db"));
  prepareRetained(other, "PRAGMA wal_checkpoint(TRUNCATE)").get();
  await s.upsert(block("-100", 3001, canary));
  assert.deepEqual(filesWith(canary).sort(), ["messages.db", "messages.db-wal"]);

  assert.equal(await s.deleteChat("-100"), true);
  assert.deepEqual(filesWith(canary), []);
  assert.deepEqual(filesWith("Chat -100"), []);
  // The other chat is intact and still found by its words.
  assert.equal((await s.searchKeyword(keeper, 2000, {})).length, 1000);
  assert.ok(filesWith(keeper).includes("messages.db"));
  other.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')");
  other.close();
  await s.close();
});

test("user_version is set; a migration hook runs once; a newer schema is refused", async () => {
  const dir = tempDir();
  const s = await openStorage({ dir });
  await s.upsert([msg("1", 1)]);
  await s.close();
  const db = openDatabase(join(dir, "messages.db"));
  assert.equal(prepareRetained(db, "PRAGMA user_version").pluck().get(), MIGRATIONS.length);
  let ran = 0;
  const hook = (d: typeof db) => {
    ran++;
    d.exec("ALTER TABLE chats ADD COLUMN note TEXT");
  };
  assert.equal(migrate(db, [...MIGRATIONS, hook]), MIGRATIONS.length + 1);
  assert.equal(migrate(db, [...MIGRATIONS, hook]), MIGRATIONS.length + 1);
  assert.equal(ran, 1);
  db.close();
  await rejectsWith(openStorage({ dir }), "TGLENS_CONFIG");
});

describe("chat statistics", () => {
  const JAN_31_LAST_SECOND = Date.UTC(2024, 0, 31, 23, 59, 59) / 1000;
  const MAR_1 = Date.UTC(2024, 2, 1) / 1000;
  /** Messages of chat "S" from the given senders, one minute apart from `start`. */
  const from = (start: number, senders: Array<[string | null, string | null]>, firstId: number) =>
    senders.map(([id, name], i) => msg("S", firstId + i, { date: start + i * 60, sender: { id, name } }));

  test("counts, dates, the five most active senders (ties by name) and messages per month", async () => {
    const s = await openStorage({ dir: tempDir() });
    await s.upsert([
      // January: Ann twice, "Cy" (user3, renamed Cyrus later), Ghost (no id), someone with neither id nor name.
      ...from(
        Date.UTC(2024, 0, 10) / 1000,
        [
          ["user1", "Ann"],
          ["user1", "Ann"],
          ["user3", "Cy"],
          [null, "Ghost"],
          [null, null],
        ],
        1,
      ),
      ...from(JAN_31_LAST_SECOND, [["user2", "Bob"]], 10),
      // March (February has nothing): the rest, "GHOST" being the same nameless sender as "Ghost".
      ...from(
        MAR_1,
        [
          ["user1", "Ann"],
          ["user1", "Ann"],
          ["user1", "Ann"],
          ["user2", "Bob"],
          ["user2", "Bob"],
          ["user3", "Cyrus"],
          ["user3", "Cyrus"],
          [null, "GHOST"],
          ["user9", "Zed"],
          ["user8", "Abe"],
        ],
        20,
      ),
    ]);
    await s.upsert(batch("other", 1, 30)); // another chat's messages count nowhere
    assert.deepEqual(await s.chatStats("S"), {
      chat_id: "S",
      name: "Chat S",
      type: "private_supergroup",
      username: null,
      messages: 16,
      senders: 6,
      first_date: Date.UTC(2024, 0, 10) / 1000,
      last_date: MAR_1 + 9 * 60,
      top_senders: [
        { sender: "Ann", sender_id: "user1", messages: 5 },
        { sender: "Bob", sender_id: "user2", messages: 3 }, // before Cyrus (3): ties by name
        { sender: "Cyrus", sender_id: "user3", messages: 3 }, // the name of their latest message
        { sender: "GHOST", sender_id: null, messages: 2 }, // no id: grouped by name, case-insensitively
        { sender: "Abe", sender_id: "user8", messages: 1 }, // Zed (1) is sixth
      ],
      by_month: [
        { month: "2024-01", messages: 6 }, // 23:59:59 UTC on the 31st is still January
        { month: "2024-02", messages: 0 },
        { month: "2024-03", messages: 10 },
      ],
    });
    // The summary part is what chat() says.
    const { top_senders: _top, by_month: _months, ...summary } = (await s.chatStats("S"))!;
    assert.deepEqual(summary, await s.chat("S"));
    assert.equal(await s.chatStats("nope"), undefined);
    await s.close();
    await rejectsWith(s.chatStats("S"), "TGLENS_NOT_READY");
  });

  test("a chat of one month and one anonymous sender", async () => {
    const s = await openStorage({ dir: tempDir() });
    await s.upsert(
      from(
        MAR_1,
        [
          [null, null],
          [null, null],
        ],
        1,
      ),
    );
    const stats = (await s.chatStats("S"))!;
    assert.deepEqual([stats.messages, stats.senders, stats.top_senders, stats.by_month], [2, 0, [], [{ month: "2024-03", messages: 2 }]]);
    await s.close();
  });
});
