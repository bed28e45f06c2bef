/**
 * Storage library: upsert, semantic / keyword / hybrid search, filters, deletion, reopen, the
 * exact → HNSW switch, replay of unsaved writes, recovery from bad index files, migrations.
 * Vectors are deterministic synthetic unit vectors (tests only).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isTglensError } from "../../../services/common/errors.ts";
import { mulberry32 } from "../../helpers/random.ts";
import type { EmbeddedMessage } from "../../../services/common/schemas.ts";
import { MIGRATIONS, migrate, openDatabase, prepareRetained } from "../../../services/storage/message-store.ts";
import { chatFileStem, openStorage, type SearchHit, type Storage, type StorageLogger } from "../../../services/storage/storage.ts";

const DIM = 384;
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tglens-storage-"));
  roots.push(d);
  return d;
}

const rng = mulberry32;
function normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
/** A deterministic random unit vector. */
function unit(seed: number): number[] {
  const r = rng(seed * 2654435761 + 17);
  return normalize(Array.from({ length: DIM }, () => r() - 0.5));
}
/** `v` moved a little in a random direction (cosine with v ≈ 1 - eps²/2). */
function near(v: number[], eps: number, seed: number): number[] {
  const r = rng(seed + 99991);
  return normalize(v.map((x) => x + eps * (r() - 0.5) / Math.sqrt(DIM / 12)));
}
function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < DIM; i++) s += a[i]! * b[i]!;
  return s;
}

const SENDERS = [
  { id: "user1", name: "Ann" },
  { id: "user2", name: "Bob" },
  { id: "user3", name: "Łukasz" },
];
const T0 = 1_700_000_000;

function msg(chat: string, id: number, over: Partial<EmbeddedMessage> = {}): EmbeddedMessage {
  const s = SENDERS[Math.abs(id) % 3]!;
  const text = `message ${id} in chat ${chat} word${id} topic${id % 7}`;
  return {
    v: 1,
    job_id: "job-1",
    chat: { id: chat, name: `Chat ${chat}`, type: "private_supergroup" },
    message_id: id,
    date: T0 + id * 60,
    sender: { id: s.id, name: s.name },
    reply_to: null,
    forwarded_from: null,
    edited: null,
    media: null,
    text,
    clean_text: text,
    lang: "en",
    vector: unit(id + chat.length * 100_000),
    ...over,
  };
}
function batch(chat: string, from: number, to: number): EmbeddedMessage[] {
  const out: EmbeddedMessage[] = [];
  for (let id = from; id <= to; id++) out.push(msg(chat, id));
  return out;
}

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}
function captureLog(): StorageLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, m?: string) => lines.push({ level, obj, msg: m });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Brute-force top-k over a set of messages (the ground truth for exact search). */
function bruteForce(q: number[], msgs: EmbeddedMessage[], k: number): number[] {
  return msgs
    .map((m) => ({ id: m.message_id, s: cos(q, m.vector) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}
const ids = (hits: SearchHit[]) => hits.map((h) => h.message_id);

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isTglensError(err) && err.code === code);
}

describe("storage: upsert and semantic search", () => {
  test("returns the nearest messages with cosine scores, equal to brute force while exact", async () => {
    const s = openStorage({ dir: tempDir() });
    const msgs = batch("100", 1, 300);
    assert.deepEqual(s.upsert(msgs), { inserted: 300, updated: 0, unchanged: 0 });
    const q = near(msgs[16]!.vector, 0.3, 1);
    const hits = s.searchSemantic(new Float32Array(q), 10, {});
    assert.equal(hits.length, 10);
    assert.equal(hits[0]!.message_id, 17);
    assert.deepEqual(ids(hits), bruteForce(q, msgs, 10));
    for (const h of hits) {
      assert.ok(Math.abs(h.score - cos(q, msgs[h.message_id - 1]!.vector)) < 1e-5, "score is the cosine");
    }
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
    // A plain number[] works as a query too, and the row comes back whole.
    const [top] = s.searchSemantic(msgs[41]!.vector, 1, {});
    assert.equal(top!.message_id, 42);
    assert.ok(top!.score > 0.99999);
    assert.deepEqual(
      { ...top, score: 0 },
      {
        chat_id: "100", chat_name: "Chat 100", chat_type: "private_supergroup", chat_username: null, message_id: 42, date: T0 + 42 * 60,
        sender_id: "user1", sender: "Ann", text: msgs[41]!.text, clean_text: msgs[41]!.clean_text, lang: "en",
        reply_to: null, forwarded_from: null, edited: null, media: null, score: 0,
      },
    );
    await s.close();
  });

  test("redelivery of the same batch changes nothing and duplicates nothing", async () => {
    const s = openStorage({ dir: tempDir() });
    const msgs = batch("7", 1, 120);
    s.upsert(msgs);
    assert.deepEqual(s.upsert(msgs), { inserted: 0, updated: 0, unchanged: 120 });
    // The same embedding up to float noise (a re-import re-embeds) also counts as unchanged.
    const noisy = msgs.map((m) => ({ ...m, vector: m.vector.map((x, i) => x + (i % 2 ? 1e-9 : -1e-9)) }));
    assert.deepEqual(s.upsert(noisy), { inserted: 0, updated: 0, unchanged: 120 });
    // Within one batch, a repeated message counts once as inserted and then as unchanged.
    assert.deepEqual(s.upsert([msg("7", 500), msg("7", 500)]), { inserted: 1, updated: 0, unchanged: 1 });
    assert.equal(s.stats().messages, 121);
    assert.equal(s.chat("7")!.messages, 121);
    const all = s.searchSemantic(new Float32Array(unit(3)), 1000, {});
    assert.equal(all.length, 121);
    assert.equal(new Set(ids(all)).size, 121);
    assert.equal(s.searchKeyword("word55", 10, {}).length, 1);
    await s.close();
  });

  test("an edit updates text and vector; an older redelivery does not undo it", async () => {
    const s = openStorage({ dir: tempDir() });
    s.upsert(batch("9", 1, 50));
    const edited = msg("9", 5, { text: "edited banana split", clean_text: "edited banana split", vector: unit(5000), edited: T0 + 9999 });
    assert.deepEqual(s.upsert([edited]), { inserted: 0, updated: 1, unchanged: 0 });
    assert.deepEqual(ids(s.searchKeyword("banana", 10, {})), [5]);
    assert.equal(s.searchKeyword("word5", 10, {}).length, 0);
    const [top] = s.searchSemantic(new Float32Array(unit(5000)), 1, {});
    assert.equal(top!.message_id, 5);
    assert.ok(top!.score > 0.99999);
    assert.equal(top!.edited, T0 + 9999);
    // The old vector no longer finds it.
    assert.notEqual(s.searchSemantic(new Float32Array(msg("9", 5).vector), 1, {})[0]!.message_id, 5);
    // The pre-edit version redelivered (edited: null) is stale: nothing changes.
    assert.deepEqual(s.upsert([msg("9", 5)]), { inserted: 0, updated: 0, unchanged: 1 });
    assert.equal(s.searchKeyword("banana", 10, {}).length, 1);
    // Metadata only (same text and vector): updated, and still found once.
    assert.deepEqual(s.upsert([{ ...edited, media: "photo" }]), { inserted: 0, updated: 1, unchanged: 0 });
    assert.equal(s.searchSemantic(new Float32Array(unit(5000)), 1, {})[0]!.media, "photo");
    assert.equal(s.stats().messages, 50);
    await s.close();
  });

  test("bad input is refused with a code and writes nothing", async () => {
    const s = openStorage({ dir: tempDir() });
    assertCode(() => s.upsert([msg("1", 1), msg("1", 2, { vector: [1, 2, 3] })]), "TGLENS_SCHEMA");
    assertCode(() => s.upsert([msg("1", 1, { vector: new Array(DIM).fill(0) })]), "TGLENS_SCHEMA");
    assertCode(() => s.upsert([msg("1", 2 ** 52)]), "TGLENS_SCHEMA");
    assertCode(() => s.upsert([msg("1", 5, { date: 8_640_000_000_001 })]), "TGLENS_SCHEMA");
    assertCode(() => s.upsert([msg("1", 5, { date: -1 })]), "TGLENS_SCHEMA");
    assert.equal(s.stats().messages, 0);
    s.upsert([msg("1", 1)]);
    assertCode(() => s.searchSemantic(new Float32Array(10), 5, {}), "TGLENS_BAD_REQUEST");
    assertCode(() => s.searchSemantic(new Float32Array(unit(1)), 0, {}), "TGLENS_BAD_REQUEST");
    assertCode(() => s.searchKeyword("x", 5, { from: Number.NaN }), "TGLENS_BAD_REQUEST");
    assert.deepEqual(s.upsert([]), { inserted: 0, updated: 0, unchanged: 0 });
    await s.close();
    assertCode(() => s.stats(), "TGLENS_NOT_READY");
    assertCode(() => s.upsert([msg("1", 2)]), "TGLENS_NOT_READY");
    await s.close(); // twice is fine
  });
});

describe("storage: filters", () => {
  // Chat "A" holds 400 messages and is HNSW (threshold 100); chat "BB" holds 60 and is exact.
  const dir = tempDir();
  const a = batch("A", 1, 400);
  const b = batch("BB", 1, 60);
  const matches = (m: EmbeddedMessage, f: { chat?: string; sender?: string; from?: number; to?: number }) =>
    (f.chat === undefined || m.chat.id === f.chat) &&
    (f.sender === undefined || m.sender.id === f.sender || m.sender.name?.toLowerCase() === f.sender.toLowerCase()) &&
    (f.from === undefined || m.date >= f.from) &&
    (f.to === undefined || m.date <= f.to);

  for (const mode of ["exact scan of matching rows", "over-fetch from the index"] as const) {
    test(`semantic search honours chat, sender and date filters (${mode})`, async () => {
      const s = openStorage({ dir, hnswThreshold: 100, exactFilterMax: mode === "over-fetch from the index" ? 0 : 4096 });
      s.upsert(a);
      s.upsert(b);
      const cases = [
        { chat: "BB" },
        { chat: "A", sender: "user2" },
        { sender: "łUKASZ" }, // name, case-insensitive beyond ASCII
        { chat: "A", from: T0 + 100 * 60, to: T0 + 130 * 60 }, // inclusive bounds
        { from: T0 + 395 * 60 },
        { chat: "A", sender: "Bob", from: T0 + 50 * 60, to: T0 + 300 * 60 },
      ];
      for (const f of cases) {
        const pool = [...a, ...b].filter((m) => matches(m, f));
        const target = pool[Math.floor(pool.length / 2)]!;
        const q = near(target.vector, 0.2, target.message_id);
        const hits = s.searchSemantic(new Float32Array(q), 5, f);
        assert.equal(hits.length, Math.min(5, pool.length), JSON.stringify(f));
        assert.equal(hits[0]!.message_id, target.message_id, JSON.stringify(f));
        assert.equal(hits[0]!.chat_id, target.chat.id);
        for (const h of hits) {
          const m = (h.chat_id === "A" ? a : b)[h.message_id - 1]!;
          assert.ok(matches(m, f), `${JSON.stringify(f)} let ${h.chat_id}/${h.message_id} through`);
        }
        // The top 5 equal brute force over the filtered set (HNSW at this size finds them all).
        assert.deepEqual(
          hits.map((h) => `${h.chat_id}/${h.message_id}`),
          pool
            .map((m) => ({ k: `${m.chat.id}/${m.message_id}`, s: cos(q, m.vector) }))
            .sort((x, y) => y.s - x.s)
            .slice(0, 5)
            .map((x) => x.k),
          JSON.stringify(f),
        );
      }
      // Bounds are inclusive: exactly messages 100..130.
      const ranged = s.searchSemantic(new Float32Array(unit(1)), 1000, { chat: "A", from: T0 + 100 * 60, to: T0 + 130 * 60 });
      assert.deepEqual(ids(ranged).sort((x, y) => x - y), Array.from({ length: 31 }, (_, i) => 100 + i));
      assert.deepEqual(s.searchSemantic(new Float32Array(unit(1)), 5, { chat: "nope" }), []);
      assert.deepEqual(s.searchSemantic(new Float32Array(unit(1)), 5, { sender: "nobody" }), []);
      await s.close();
    });
  }

  test("keyword and hybrid search honour the same filters", async () => {
    const s = openStorage({ dir, hnswThreshold: 100 });
    const t3 = s.searchKeyword("topic3", 1000, {});
    assert.equal(t3.length, [...a, ...b].filter((m) => m.message_id % 7 === 3).length);
    const f = { chat: "A", sender: "ann", from: T0 + 10 * 60, to: T0 + 200 * 60 };
    const hits = s.searchKeyword("topic3", 1000, f);
    assert.ok(hits.length > 0);
    assert.deepEqual(
      ids(hits).sort((x, y) => x - y),
      a.filter((m) => m.message_id % 7 === 3 && matches(m, f)).map((m) => m.message_id),
    );
    const hy = s.searchHybrid("topic3", new Float32Array(unit(2)), 20, { chat: "BB" });
    assert.ok(hy.length > 0 && hy.every((h) => h.chat_id === "BB"));
    await s.close();
  });
});

describe("storage: keyword search", () => {
  test("FTS5 syntax in the query is text, never an error", async () => {
    const s = openStorage({ dir: tempDir() });
    s.upsert([
      msg("1", 1, { text: "how do I mount a usb drive? see https://help.ubuntu.com/usb", clean_text: "how do I mount a usb drive? see" }),
      msg("1", 2, { text: "NEAR the end: apt-get install foo-bar", clean_text: "NEAR the end apt-get install foo-bar" }),
      msg("1", 3, { text: "say \"hello world\" twice", clean_text: "say hello world twice" }),
      msg("1", 4, { text: "hello there, world", clean_text: "hello there world" }),
      msg("1", 5, { text: "Ünïcödé ДРАЙВЕР nvidia", clean_text: "Ünïcödé ДРАЙВЕР nvidia" }),
    ]);
    const nasty = [
      '"', '""', '"""', "*", "**", "NEAR", "NEAR(", "NEAR(a b, 2)", "a NEAR b", "-", "-foo", "foo:bar", "text:usb", ":",
      "(", ")", "(usb", "usb)", "^usb", "AND", "OR", "NOT", "usb AND", "OR usb", "NOT usb", "usb NOT", "'", "\\", "{usb}",
      "+usb", "usb*", "*usb", "u*sb", "", "   ", "🙂", "\"unterminated usb", "usb\"drive", "col:\"x\" -y *z ^", "\u0000", "a\nb",
      "clean_text:mount", "rowid:1", "messages_fts", "x".repeat(5000), Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "),
    ];
    for (const q of nasty) {
      assert.doesNotThrow(() => s.searchKeyword(q, 10, {}), `query ${JSON.stringify(q).slice(0, 40)}`);
      assert.doesNotThrow(() => s.searchHybrid(q, new Float32Array(unit(1)), 10, {}), `hybrid ${JSON.stringify(q).slice(0, 40)}`);
    }
    // ... and they still find what the words say.
    assert.deepEqual(ids(s.searchKeyword("NEAR", 10, {})), [2]);
    assert.deepEqual(ids(s.searchKeyword("foo-bar", 10, {})), [2]);
    assert.deepEqual(ids(s.searchKeyword("usb:", 10, {})), [1]);
    assert.deepEqual(ids(s.searchKeyword("text:usb", 10, {})), []); // the phrase "text usb", not a column filter
    assert.deepEqual(ids(s.searchKeyword("-mount", 10, {})), [1]);
    assert.deepEqual(ids(s.searchKeyword('"hello world"', 10, {})), [3]); // phrase
    assert.deepEqual(ids(s.searchKeyword("hello world", 10, {})).sort(), [3, 4]); // all terms
    assert.deepEqual(ids(s.searchKeyword("mou*", 10, {})), [1]); // prefix
    assert.deepEqual(ids(s.searchKeyword("unicode драйвер", 10, {})), [5]); // diacritics and case folded
    assert.deepEqual(ids(s.searchKeyword("help.ubuntu.com", 10, {})), [1]); // only in the original text
    // All terms first, then any term: "mount zebra" finds the mount message.
    assert.deepEqual(ids(s.searchKeyword("mount zebra", 10, {})), [1]);
    const scored = s.searchKeyword("hello", 10, {});
    assert.ok(scored.every((h) => h.score > 0));
    await s.close();
  });
});

describe("storage: hybrid search", () => {
  test("reciprocal-rank fusion puts what both lists rank high first", async () => {
    const s = openStorage({ dir: tempDir() });
    const q = unit(777);
    const msgs = batch("5", 1, 100);
    // 10: semantically closest and a keyword match; 20: semantically second, no keyword; 30-39: keyword only.
    msgs[9] = msg("5", 10, { vector: near(q, 0.1, 1), text: "kernel panic again", clean_text: "kernel panic again" });
    msgs[19] = msg("5", 20, { vector: near(q, 0.3, 2) });
    for (let i = 30; i < 40; i++) msgs[i - 1] = msg("5", i, { text: `kernel panic ${i} kernel`, clean_text: `kernel panic ${i} kernel` });
    s.upsert(msgs);
    const sem = s.searchSemantic(new Float32Array(q), 150, {});
    const kw = s.searchKeyword("kernel panic", 150, {});
    const hits = s.searchHybrid("kernel panic", new Float32Array(q), 5, {});
    assert.equal(hits.length, 5);
    assert.equal(hits[0]!.message_id, 10);
    const rank = (list: SearchHit[], id: number) => list.findIndex((h) => h.message_id === id);
    for (const h of hits) {
      const rs = rank(sem, h.message_id);
      const rk = rank(kw, h.message_id);
      const expected = (rs >= 0 ? 1 / (61 + rs) : 0) + (rk >= 0 ? 1 / (61 + rk) : 0);
      assert.ok(Math.abs(h.score - expected) < 1e-12, `RRF score of ${h.message_id}`);
    }
    assert.ok(hits[0]!.score <= 2 / 61);
    // Without keyword terms, hybrid is the semantic order.
    assert.deepEqual(ids(s.searchHybrid("!!!", new Float32Array(q), 5, {})), ids(sem.slice(0, 5)));
    await s.close();
  });
});

describe("storage: chats and deletion", () => {
  test("chats() summarises, deleteChat removes rows, FTS rows and index files", async () => {
    const dir = tempDir();
    const s = openStorage({ dir, hnswThreshold: 50 });
    s.upsert(batch("-1001", 1, 120)); // HNSW
    s.upsert(batch("2", 1, 10)); // exact
    s.upsert([{ ...msg("2", 11), chat: { id: "2", name: "Renamed", type: "personal_chat" }, sender: { id: null, name: "Ghost" } }]);
    await s.whenIdle();
    const files = readdirSync(join(dir, "index"));
    assert.deepEqual(files.sort(), [`${chatFileStem("-1001")}.usearch`, `${chatFileStem("-1001")}.usearch.json`]);
    assert.ok(s.stats().indexBytes > 0);
    assert.deepEqual(s.chat("2"), {
      chat_id: "2", name: "Renamed", type: "personal_chat", username: null, messages: 11, senders: 4,
      first_date: T0 + 60, last_date: T0 + 11 * 60,
    });
    // Ordered by name: "Chat -1001" before "Renamed".
    assert.deepEqual(s.chats().map((c) => [c.chat_id, c.messages]), [["-1001", 120], ["2", 11]]);
    assert.equal(s.chat("nope"), undefined);

    assert.equal(s.deleteChat("-1001"), true);
    assert.equal(s.deleteChat("-1001"), false);
    assert.deepEqual(readdirSync(join(dir, "index")), []);
    assert.equal(s.chat("-1001"), undefined);
    assert.deepEqual(s.stats(), { chats: 1, messages: 11, indexBytes: 0 });
    assert.equal(s.searchKeyword("word7", 10, {}).length, 1); // only chat 2's
    assert.ok(s.searchSemantic(new Float32Array(unit(1)), 100, {}).every((h) => h.chat_id === "2"));
    // A chat re-created under the same id starts clean.
    s.upsert(batch("-1001", 1, 3));
    assert.equal(s.chat("-1001")!.messages, 3);
    await s.close();

    const db = openDatabase(join(dir, "messages.db"));
    db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"); // throws if FTS drifted
    assert.equal(prepareRetained(db, "SELECT count(*) FROM messages_fts_docsize").pluck().get(), 14);
    db.close();
  });
});

describe("storage: chat username", () => {
  test("live reading sets it, an export of the same chat keeps it, every search mode returns it", async () => {
    const s = openStorage({ dir: tempDir() });
    const live = { id: "-1009", name: "Live", type: "public_supergroup", username: "kreuzberg" };
    s.upsert(batch("-1009", 1, 3).map((m) => ({ ...m, chat: live })));
    s.upsert(batch("4", 1, 2)); // an exported chat: no username
    assert.equal(s.chat("-1009")!.username, "kreuzberg");
    assert.equal(s.chat("4")!.username, null);
    const q = new Float32Array(msg("-1009", 2).vector);
    for (const hits of [s.searchSemantic(q, 10, {}), s.searchKeyword("message", 10, {}), s.searchHybrid("message", q, 10, {})]) {
      assert.equal(hits.length, 5);
      for (const h of hits) assert.equal(h.chat_username, h.chat_id === "-1009" ? "kreuzberg" : null, `${h.chat_id}/${h.message_id}`);
    }
    // An export of the same chat (renamed since, no username): the name follows, the username stays.
    const exported = { id: "-1009", name: "Live, renamed", type: "public_supergroup" };
    assert.deepEqual(s.upsert(batch("-1009", 1, 4).map((m) => ({ ...m, chat: exported }))), { inserted: 1, updated: 0, unchanged: 3 });
    assert.deepEqual([s.chat("-1009")!.name, s.chat("-1009")!.username], ["Live, renamed", "kreuzberg"]);
    // A new username replaces the old one, even when the messages are unchanged.
    assert.deepEqual(s.upsert([{ ...msg("-1009", 1), chat: { ...exported, username: "kreuzberg_crew" } }]), { inserted: 0, updated: 0, unchanged: 1 });
    assert.equal(s.chat("-1009")!.username, "kreuzberg_crew");
    assert.equal(s.searchKeyword("word4", 1, {})[0]!.chat_username, "kreuzberg_crew");
    assert.deepEqual(s.chats().map((c) => [c.chat_id, c.username]), [["4", null], ["-1009", "kreuzberg_crew"]]);
    await s.close();
  });
});

describe("storage: chat statistics", () => {
  const JAN_31_LAST_SECOND = Date.UTC(2024, 0, 31, 23, 59, 59) / 1000;
  const MAR_1 = Date.UTC(2024, 2, 1) / 1000;
  /** Messages of chat "S" from the given senders, one minute apart from `start`. */
  const from = (start: number, senders: Array<[string | null, string | null]>, firstId: number) =>
    senders.map(([id, name], i) => msg("S", firstId + i, { date: start + i * 60, sender: { id, name } }));

  test("counts, dates, the five most active senders (ties by name) and messages per month", async () => {
    const s = openStorage({ dir: tempDir() });
    s.upsert([
      // January: Ann twice, "Cy" (user3, renamed Cyrus later), Ghost (no id), someone with neither id nor name.
      ...from(Date.UTC(2024, 0, 10) / 1000, [["user1", "Ann"], ["user1", "Ann"], ["user3", "Cy"], [null, "Ghost"], [null, null]], 1),
      ...from(JAN_31_LAST_SECOND, [["user2", "Bob"]], 10),
      // March (February has nothing): the rest, "GHOST" being the same nameless sender as "Ghost".
      ...from(MAR_1, [["user1", "Ann"], ["user1", "Ann"], ["user1", "Ann"], ["user2", "Bob"], ["user2", "Bob"], ["user3", "Cyrus"], ["user3", "Cyrus"], [null, "GHOST"], ["user9", "Zed"], ["user8", "Abe"]], 20),
    ]);
    s.upsert(batch("other", 1, 30)); // another chat's messages count nowhere
    assert.deepEqual(s.chatStats("S"), {
      chat_id: "S", name: "Chat S", type: "private_supergroup", username: null,
      messages: 16, senders: 6, first_date: Date.UTC(2024, 0, 10) / 1000, last_date: MAR_1 + 9 * 60,
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
    const { top_senders: _top, by_month: _months, ...summary } = s.chatStats("S")!;
    assert.deepEqual(summary, s.chat("S"));
    assert.equal(s.chatStats("nope"), undefined);
    await s.close();
    assertCode(() => s.chatStats("S"), "TGLENS_NOT_READY");
  });

  test("a chat of one month and one anonymous sender", async () => {
    const s = openStorage({ dir: tempDir() });
    s.upsert(from(MAR_1, [[null, null], [null, null]], 1));
    const stats = s.chatStats("S")!;
    assert.deepEqual([stats.messages, stats.senders, stats.top_senders, stats.by_month], [2, 0, [], [{ month: "2024-03", messages: 2 }]]);
    await s.close();
  });
});

describe("storage: persistence", () => {
  test("reopening after close gives identical results, without rebuilding", async () => {
    const dir = tempDir();
    const queries = (s: Storage) => [
      s.searchSemantic(new Float32Array(unit(11)), 10, {}),
      s.searchSemantic(new Float32Array(unit(12)), 10, { chat: "big" }),
      s.searchSemantic(new Float32Array(unit(13)), 10, { chat: "small", sender: "bob" }),
      s.searchKeyword("topic4", 20, {}),
      s.searchHybrid("topic2", new Float32Array(unit(14)), 10, { from: T0 + 3000 }),
      s.chats(),
    ];
    const s1 = openStorage({ dir, hnswThreshold: 100 });
    s1.upsert(batch("big", 1, 500));
    s1.upsert(batch("small", 1, 40));
    const before = queries(s1);
    await s1.whenIdle();
    assert.deepEqual(queries(s1), before); // the same results from HNSW as from the exact index
    await s1.close();
    const log = captureLog();
    const s2 = openStorage({ dir, hnswThreshold: 100, log });
    assert.deepEqual(queries(s2), before);
    const ready = log.lines.find((l) => l.msg?.includes("chat index opened"));
    assert.equal(ready?.obj.how, "loaded");
    assert.equal(ready?.obj.replayed, 0);
    await s2.close();
  });

  test("a chat crossing the HNSW threshold keeps returning correct results", async () => {
    const dir = tempDir();
    const log = captureLog();
    const s = openStorage({ dir, hnswThreshold: 64, log, saveDebounceMs: 5 });
    const all: EmbeddedMessage[] = [];
    for (let start = 1; start <= 400; start += 16) {
      const b = batch("grow", start, start + 15);
      all.push(...b);
      s.upsert(b);
      // Past the threshold the HNSW index is built in the background; searches stay exact meanwhile.
      if (start % 64 === 1) await new Promise((r) => setImmediate(r));
      for (const probe of [all[0]!, all[Math.floor(all.length / 2)]!, all[all.length - 1]!]) {
        const [top] = s.searchSemantic(new Float32Array(near(probe.vector, 0.1, start)), 1, { chat: "grow" });
        assert.equal(top!.message_id, probe.message_id, `after ${all.length} messages`);
      }
      const top10 = s.searchSemantic(new Float32Array(unit(start)), 10, {});
      assert.deepEqual(ids(top10), bruteForce(unit(start), all, 10), `after ${all.length} messages`);
    }
    await new Promise((r) => setTimeout(r, 50)); // the rest of the build and the debounced save
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    assert.ok(existsSync(join(dir, "index", "grow.usearch")));
    await s.close();
  });

  test("changes that arrive while the HNSW index is being built end up in it", async () => {
    const log = captureLog();
    const s = openStorage({ dir: tempDir(), hnswThreshold: 50, log });
    s.upsert(batch("b", 1, 3000));
    await new Promise((r) => setImmediate(r)); // one slice of the background build
    const edits = [1, 1500, 3000].map((id) => msg("b", id, { vector: unit(id + 70_000), edited: T0 + 5 }));
    s.upsert([...edits, ...batch("b", 3001, 3010)]);
    for (const e of edits) assert.equal(s.searchSemantic(new Float32Array(e.vector), 1, {})[0]!.message_id, e.message_id);
    await s.whenIdle(); // completes the build
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    for (const e of edits) {
      const [top] = s.searchSemantic(new Float32Array(e.vector), 1, {});
      assert.equal(top!.message_id, e.message_id);
      assert.ok(top!.score > 0.99999);
      assert.notEqual(s.searchSemantic(new Float32Array(msg("b", e.message_id).vector), 1, {})[0]!.message_id, e.message_id);
    }
    for (const m of batch("b", 3001, 3010)) assert.equal(s.searchSemantic(new Float32Array(m.vector), 1, {})[0]!.message_id, m.message_id);
    const everything = s.searchSemantic(new Float32Array(unit(1)), 1000, { from: T0 + 2500 * 60 });
    assert.equal(everything.length, 511);
    await s.close();
  });

  test("close() does not wait for a background build; the next open rebuilds", async () => {
    const dir = tempDir();
    const s1 = openStorage({ dir, hnswThreshold: 50 });
    s1.upsert(batch("u", 1, 2000));
    await s1.close();
    const log = captureLog();
    const s2 = openStorage({ dir, hnswThreshold: 50, log });
    const m = msg("u", 1234);
    assert.equal(s2.searchSemantic(new Float32Array(m.vector), 1, {})[0]!.message_id, 1234);
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    await s2.whenIdle();
    assert.equal(s2.searchSemantic(new Float32Array(m.vector), 1, {})[0]!.message_id, 1234);
    assert.equal(s2.searchSemantic(new Float32Array(unit(1)), 1000, { from: T0 + 1001 * 60 }).length, 1000);
    await s2.close();
  });

  test("writes after the last save are replayed from SQLite on open", async () => {
    const dir = tempDir();
    const s1 = openStorage({ dir, hnswThreshold: 50, saveDebounceMs: 3_600_000 });
    s1.upsert(batch("r", 1, 100));
    await s1.whenIdle(); // the HNSW build, then the save
    s1.upsert(batch("r", 101, 130));
    s1.upsert([msg("r", 7, { text: "edited", clean_text: "edited", vector: unit(4242), edited: T0 + 1 })]);
    // s1 is abandoned without flush or close, as a crash would leave it.
    const log = captureLog();
    const s2 = openStorage({ dir, hnswThreshold: 50, log });
    const ready = () => log.lines.find((l) => l.msg?.includes("chat index opened"));
    assert.equal(s2.searchSemantic(new Float32Array(unit(4242)), 1, {})[0]!.message_id, 7);
    assert.equal(ready()?.obj.how, "loaded");
    assert.equal(ready()?.obj.replayed, 31);
    const everything = s2.searchSemantic(new Float32Array(unit(1)), 1000, {});
    assert.equal(everything.length, 130);
    assert.equal(new Set(ids(everything)).size, 130);
    for (const m of batch("r", 101, 130)) assert.equal(s2.searchSemantic(new Float32Array(m.vector), 1, {})[0]!.message_id, m.message_id);
    assert.ok(!log.lines.some((l) => l.level === "warn"));
    await s2.close();
  });

  test("a corrupt or foreign index file is rebuilt from SQLite; stray files are removed", async () => {
    const dir = tempDir();
    const s1 = openStorage({ dir, hnswThreshold: 50 });
    s1.upsert(batch("c", 1, 200));
    await s1.whenIdle();
    await s1.close();
    const file = join(dir, "index", "c.usearch");
    copyFileSync(file, join(dir, "old.usearch"));
    copyFileSync(`${file}.json`, join(dir, "old.usearch.json"));
    writeFileSync(file, "garbage");
    writeFileSync(join(dir, "index", "zzz.usearch"), "orphan");
    writeFileSync(join(dir, "index", "c.usearch.tmp-123"), "half-written");

    let log = captureLog();
    const s2 = openStorage({ dir, hnswThreshold: 50, log });
    assert.deepEqual(readdirSync(join(dir, "index")).sort(), ["c.usearch", "c.usearch.json"]);
    assert.equal(s2.searchSemantic(new Float32Array(unit(100_005)), 1, {})[0]!.message_id, 5); // chat "c": seed id + 100000
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    // The chat is deleted and re-created; the old generation's files are put back by hand.
    s2.deleteChat("c");
    s2.upsert(batch("c", 1, 60).map((m) => ({ ...m, vector: unit(m.message_id + 900_000) })));
    await s2.whenIdle();
    await s2.close();
    copyFileSync(join(dir, "old.usearch"), file);
    copyFileSync(join(dir, "old.usearch.json"), `${file}.json`);
    log = captureLog();
    const s3 = openStorage({ dir, hnswThreshold: 50, log });
    const [top] = s3.searchSemantic(new Float32Array(unit(900_005)), 1, {});
    assert.equal(top!.message_id, 5);
    assert.ok(top!.score > 0.99999);
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    assert.equal(s3.searchSemantic(new Float32Array(unit(1)), 1000, {}).length, 60);
    await s3.whenIdle();
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    assert.equal(s3.searchSemantic(new Float32Array(unit(900_005)), 1, {})[0]!.message_id, 5);
    await s3.close();
  });
});

describe("storage: schema", () => {
  test("user_version is set; a migration hook runs once; a newer schema is refused", async () => {
    const dir = tempDir();
    const s = openStorage({ dir });
    s.upsert([msg("1", 1)]);
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
    assertCode(() => openStorage({ dir }), "TGLENS_CONFIG");
  });
});

describe("storage: negative message ids (supergroups migrated from a group)", () => {
  for (const threshold of [10_000, 50]) {
    test(`stores and finds them beside positive ids, ${threshold === 50 ? "HNSW" : "exact"}, across a reopen`, async () => {
      const dir = tempDir();
      const all = batch("m", -60, 60);
      let s = openStorage({ dir, hnswThreshold: threshold });
      assert.deepEqual(s.upsert(all), { inserted: 121, updated: 0, unchanged: 0 });
      await s.whenIdle();
      for (let round = 0; round < 2; round++) {
        assert.equal(s.chat("m")!.messages, 121);
        for (const m of all) {
          const [top] = s.searchSemantic(new Float32Array(m.vector), 1, {});
          assert.equal(top!.message_id, m.message_id, `message ${m.message_id} finds itself (round ${round})`);
          assert.ok(top!.score > 0.999);
        }
        // -1 and 1 are two messages, each with its own text and vector.
        const [minusOne] = s.searchSemantic(new Float32Array(unit(-1 + 100_000)), 1, { chat: "m" });
        assert.equal(minusOne!.message_id, -1);
        assert.match(minusOne!.text, /^message -1 /);
        await s.close();
        s = openStorage({ dir, hnswThreshold: threshold });
      }
      await s.close();
    });
  }
});
