/**
 * The storage contract suite: every Storage backend must pass it unchanged (as every Bus passes
 * bus-contract.ts). sqlite-storage.test.ts runs it on SQLite + usearch with exact search and with
 * HNSW; a networked backend runs it against its own server. It speaks only the Storage interface:
 * what a backend does inside (files, indexes, builds) is its own tests' business.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EmbeddedMessage } from "../../../services/common/schemas.ts";
import type { SearchFilters, SearchHit, Storage } from "../../../services/storage/types.ts";
import { rejectsWith } from "../../helpers/errors.ts";
import { batch, cos, DIM, ids, msg, near, sampleAnswers, T0, unit } from "./helpers.ts";

export interface StorageContractTarget<S extends Storage = Storage> {
  /** Opens the backend over this target's data: empty the first time, what earlier handles left after that. */
  open(): Promise<S>;
  /** Leaves `s` as a crash (kill -9) would: neither flushed nor closed. What it acknowledged must survive. */
  crash(s: S): Promise<void>;
  /** Lets background index work finish (an HNSW build), for a backend that has any. */
  idle(s: S): Promise<void>;
  /** Removes the target's data, once every handle is closed or crashed. */
  destroy(): Promise<void>;
}

/** Chat "A" (90 messages) and chat "BB" (40), three senders in turn, one message a minute. */
const A = batch("A", 1, 90);
const BB = batch("BB", 1, 40);
const key = (h: Pick<SearchHit, "chat_id" | "message_id">) => `${h.chat_id}/${h.message_id}`;
const byId = new Map([...A, ...BB].map((m) => [`${m.chat.id}/${m.message_id}`, m]));

function matches(m: EmbeddedMessage, f: SearchFilters): boolean {
  return (
    (f.chat === undefined || m.chat.id === f.chat) &&
    (f.sender === undefined || m.sender.id === f.sender || m.sender.name?.toLowerCase() === f.sender.toLowerCase()) &&
    (f.from === undefined || m.date >= f.from) &&
    (f.to === undefined || m.date <= f.to)
  );
}

const FILTERS: SearchFilters[] = [
  {},
  { chat: "BB" },
  { chat: "A", sender: "user2" },
  { sender: "łUKASZ" }, // a name, case-insensitive beyond ASCII
  { chat: "A", from: T0 + 30 * 60, to: T0 + 50 * 60 }, // inclusive bounds
  { from: T0 + 85 * 60 },
  { to: T0 + 10 * 60 },
  { chat: "A", sender: "Bob", from: T0 + 20 * 60, to: T0 + 70 * 60 },
];

function assertAllMatch(hits: SearchHit[], f: SearchFilters, what: string): void {
  for (const h of hits) assert.ok(matches(byId.get(key(h))!, f), `${what} ${JSON.stringify(f)} let ${key(h)} through`);
}

export function storageContract<S extends Storage>(name: string, makeTarget: () => Promise<StorageContractTarget<S>>): void {
  /** Runs `fn` on a fresh target; handles `fn` opens it closes or crashes itself. */
  async function withTarget(fn: (t: StorageContractTarget<S>) => Promise<void>): Promise<void> {
    const t = await makeTarget();
    try {
      await fn(t);
    } finally {
      await t.destroy();
    }
  }

  /** A target holding chats A and BB, idle, and a handle open on it. */
  async function withChats(fn: (s: S, t: StorageContractTarget<S>) => Promise<void>): Promise<void> {
    await withTarget(async (t) => {
      const s = await t.open();
      try {
        await s.upsert(A);
        await s.upsert(BB);
        await t.idle(s);
        await fn(s, t);
      } finally {
        await s.close();
      }
    });
  }

  describe(`storage contract: ${name}`, () => {
    it("upsert is idempotent: the same message twice is one row and one vector", async () => {
      await withTarget(async (t) => {
        const s = await t.open();
        const msgs = batch("7", 1, 60);
        assert.deepEqual(await s.upsert(msgs), { inserted: 60, updated: 0, unchanged: 0 });
        await t.idle(s);
        assert.deepEqual(await s.upsert(msgs), { inserted: 0, updated: 0, unchanged: 60 });
        // Within one batch, a repeated message counts once as inserted and then as unchanged.
        assert.deepEqual(await s.upsert([msg("7", 61), msg("7", 61)]), { inserted: 1, updated: 0, unchanged: 1 });
        const check = async (st: Storage, round: string) => {
          assert.equal((await st.stats()).messages, 61, round);
          assert.equal((await st.chat("7"))!.messages, 61, round);
          const all = await st.searchSemantic(new Float32Array(unit(3)), 1000, {});
          assert.equal(all.length, 61, round);
          assert.equal(new Set(ids(all)).size, 61, `${round}: each message once`);
          assert.deepEqual(ids(await st.searchKeyword("word61", 10, {})), [61], round);
          assert.deepEqual(ids(await st.searchSemantic(msg("7", 61).vector, 1, {})), [61], round);
        };
        await check(s, "open");
        await s.close();
        const again = await t.open();
        assert.deepEqual(await again.upsert(msgs), { inserted: 0, updated: 0, unchanged: 60 });
        await check(again, "reopened");
        await again.close();
      });
    });

    it("a newer version replaces the stored one; an older redelivery never does", async () => {
      await withTarget(async (t) => {
        let s = await t.open();
        await s.upsert(batch("9", 1, 40));
        await t.idle(s);
        const edited = msg("9", 5, { text: "edited banana split", clean_text: "edited banana split", vector: unit(5000), edited: T0 + 9999 });
        assert.deepEqual(await s.upsert([edited]), { inserted: 0, updated: 1, unchanged: 0 });
        assert.deepEqual(await s.upsert([msg("9", 5)]), { inserted: 0, updated: 0, unchanged: 1 }, "the pre-edit version is stale");
        for (const round of ["open", "reopened"]) {
          assert.deepEqual(ids(await s.searchKeyword("banana", 10, {})), [5], round);
          assert.deepEqual(await s.searchKeyword("word5", 10, {}), [], `${round}: the old text is gone`);
          const [top] = await s.searchSemantic(new Float32Array(unit(5000)), 1, {});
          assert.equal(top!.message_id, 5, round);
          assert.ok(top!.score > 0.99999, round);
          assert.equal(top!.edited, T0 + 9999, round);
          assert.equal(top!.text, "edited banana split", round);
          assert.notEqual((await s.searchSemantic(msg("9", 5).vector, 1, {}))[0]!.message_id, 5, `${round}: the old vector is gone`);
          assert.equal((await s.stats()).messages, 40, round);
          await s.close();
          s = await t.open();
        }
        // Metadata only (same text and vector): updated, and still found once.
        assert.deepEqual(await s.upsert([{ ...edited, media: "photo" }]), { inserted: 0, updated: 1, unchanged: 0 });
        const hits = await s.searchSemantic(new Float32Array(unit(5000)), 1000, {});
        assert.deepEqual([hits[0]!.media, hits.filter((h) => h.message_id === 5).length, hits.length], ["photo", 1, 40]);
        await s.close();
      });
    });

    it("semantic search: nearest first, scored by cosine, whole rows, honouring chat, sender and date filters", async () => {
      await withChats(async (s) => {
        for (const f of FILTERS) {
          const pool = [...A, ...BB].filter((m) => matches(m, f));
          const target = pool[Math.floor(pool.length / 2)]!;
          const q = near(target.vector, 0.2, target.message_id);
          const hits = await s.searchSemantic(new Float32Array(q), 5, f);
          assertAllMatch(hits, f, "semantic");
          assert.equal(key(hits[0]!), key({ chat_id: target.chat.id, message_id: target.message_id }), JSON.stringify(f));
          // The top 5 are the brute-force top 5 of the filtered set.
          const truth = pool
            .map((m) => ({ k: `${m.chat.id}/${m.message_id}`, s: cos(q, m.vector) }))
            .sort((x, y) => y.s - x.s)
            .slice(0, 5);
          assert.deepEqual(
            hits.map(key),
            truth.map((x) => x.k),
            JSON.stringify(f),
          );
          hits.forEach((h, i) => assert.ok(Math.abs(h.score - truth[i]!.s) < 1e-5, "the score is the cosine"));
        }
        // Bounds are inclusive: exactly messages 30..50.
        const ranged = await s.searchSemantic(new Float32Array(unit(1)), 1000, { chat: "A", from: T0 + 30 * 60, to: T0 + 50 * 60 });
        assert.deepEqual(
          ids(ranged).sort((x, y) => x - y),
          Array.from({ length: 21 }, (_, i) => 30 + i),
        );
        assert.deepEqual(await s.searchSemantic(new Float32Array(unit(1)), 5, { chat: "nope" }), []);
        assert.deepEqual(await s.searchSemantic(new Float32Array(unit(1)), 5, { sender: "nobody" }), []);
        // k above the store: every message once. A plain number[] is a query too, and the row comes back whole.
        assert.equal(new Set((await s.searchSemantic(unit(2), 1000, {})).map(key)).size, A.length + BB.length);
        const [top] = await s.searchSemantic(A[41]!.vector, 1, {});
        assert.deepEqual(
          { ...top!, score: 0 },
          {
            chat_id: "A",
            chat_name: "Chat A",
            chat_type: "private_supergroup",
            chat_username: null,
            message_id: 42,
            date: T0 + 42 * 60,
            sender_id: "user1",
            sender: "Ann",
            text: A[41]!.text,
            clean_text: A[41]!.clean_text,
            lang: "en",
            reply_to: null,
            forwarded_from: null,
            edited: null,
            media: null,
            score: 0,
          },
        );
      });
    });

    it("keyword search finds the words, best first, honouring the same filters", async () => {
      await withChats(async (s) => {
        for (const f of FILTERS) {
          const hits = await s.searchKeyword("topic3", 1000, f);
          assert.deepEqual(
            hits.map(key).sort(),
            [...A, ...BB]
              .filter((m) => m.message_id % 7 === 3 && matches(m, f))
              .map((m) => `${m.chat.id}/${m.message_id}`)
              .sort(),
            JSON.stringify(f),
          );
          assert.ok(
            hits.every((h) => h.score > 0),
            "a match scores above 0",
          );
          for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, "best first");
        }
        assert.deepEqual((await s.searchKeyword("word17", 10, { chat: "BB" })).map(key), ["BB/17"]);
        assert.deepEqual(await s.searchKeyword("zebra", 10, {}), []);
      });
    });

    it("hybrid search puts what both lists rank first on top, honouring the same filters", async () => {
      await withChats(async (s) => {
        for (const f of FILTERS) {
          const pool = [...A, ...BB].filter((m) => matches(m, f));
          const target = pool[Math.floor(pool.length / 3)]!;
          // Semantically first, and one of the (at most two) messages with its word.
          const hits = await s.searchHybrid(`word${target.message_id}`, new Float32Array(near(target.vector, 0.1, 3)), 10, f);
          assert.equal(key(hits[0]!), key({ chat_id: target.chat.id, message_id: target.message_id }), JSON.stringify(f));
          assert.equal(hits.length, Math.min(10, pool.length), JSON.stringify(f));
          assertAllMatch(hits, f, "hybrid");
          assert.ok(hits[0]!.score <= 2 / 61 + 1e-12);
          for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, "best first");
        }
      });
    });

    it("chats, one chat and its statistics; a live @username outlives an export of the same chat", async () => {
      await withChats(async (s) => {
        const chats = await s.chats();
        assert.deepEqual(
          chats.map((c) => [c.chat_id, c.name, c.messages, c.senders]),
          [
            ["A", "Chat A", 90, 3],
            ["BB", "Chat BB", 40, 3],
          ],
        );
        assert.deepEqual(await s.chat("BB"), chats[1]);
        assert.deepEqual([chats[0]!.first_date, chats[0]!.last_date], [T0 + 60, T0 + 90 * 60]);
        const stats = (await s.chatStats("A"))!;
        const { top_senders, by_month, ...summary } = stats;
        assert.deepEqual(summary, chats[0]);
        assert.deepEqual(
          top_senders.map((x) => [x.sender_id, x.messages]),
          [
            ["user1", 30],
            ["user2", 30],
            ["user3", 30],
          ],
        );
        assert.equal(
          by_month.reduce((n, m) => n + m.messages, 0),
          90,
        );
        assert.equal(await s.chat("nope"), undefined);
        assert.equal(await s.chatStats("nope"), undefined);
        const live = { id: "BB", name: "Live", type: "public_supergroup", username: "kreuzberg" };
        await s.upsert([{ ...msg("BB", 41), chat: live }]);
        await s.upsert([{ ...msg("BB", 42), chat: { id: "BB", name: "Exported", type: "public_supergroup" } }]);
        assert.deepEqual([(await s.chat("BB"))!.name, (await s.chat("BB"))!.username], ["Exported", "kreuzberg"]);
        assert.equal((await s.searchKeyword("word42", 10, { chat: "BB" }))[0]!.chat_username, "kreuzberg");
      });
    });

    it("messages around a message and from a date: chat order (date, then id), what they reply to, replies, whether there is more", async () => {
      await withTarget(async (t) => {
        const s = await t.open();
        // 1..30 a minute apart; 31 sent in the same second as 10, -3 (from before a migration) as 5.
        // Replies: 12 and 25 to 10, 20 to 2, 15 to 31, 28 to a message that is not stored.
        const replyTo: Record<number, number> = { 12: 10, 25: 10, 20: 2, 15: 31, 28: 999 };
        await s.upsert([
          ...batch("P", 1, 30).map((m) => ({ ...m, reply_to: replyTo[m.message_id] ?? null })),
          msg("P", 31, { date: T0 + 10 * 60 }),
          msg("P", -3, { date: T0 + 5 * 60 }),
        ]);
        await s.upsert(A);
        const page = async (id: number, before: number, after: number) => {
          const p = (await s.messagesAround("P", id, { before, after }))!;
          return [ids(p.messages as SearchHit[]), ids(p.replied_to as SearchHit[]), ids(p.replies as SearchHit[]), p.more_before, p.more_after];
        };
        const around = (await s.messagesAround("P", 10, { before: 2, after: 3 }))!;
        assert.deepEqual(around.chat, { chat_id: "P", name: "Chat P", type: "private_supergroup", username: null });
        assert.deepEqual(await page(10, 2, 3), [[8, 9, 10, 31, 11, 12], [], [25], true, true], "12 replies inside the page, 25 outside");
        const target = around.messages[2]!;
        assert.deepEqual(
          [target.chat_id, target.message_id, target.date, target.sender, target.text, target.reply_to],
          ["P", 10, T0 + 600, "Bob", msg("P", 10).text, null],
        );
        assert.equal(around.messages[5]!.reply_to, 10);
        assert.deepEqual(await page(5, 2, 1), [[4, -3, 5, 6], [], [], true, true], "a negative id in its place by date");
        assert.deepEqual(await page(20, 1, 1), [[19, 20, 21], [2], [], true, true], "what 20 replies to, from outside the page");
        assert.deepEqual(await page(15, 1, 1), [[14, 15, 16], [31], [], true, true]);
        assert.deepEqual(await page(28, 0, 0), [[28], [], [], true, true], "a reply to a message not stored");
        assert.deepEqual(await page(1, 5, 0), [[1], [], [], false, true]);
        assert.deepEqual(await page(30, 0, 5), [[30], [], [], true, false]);
        const whole = (await s.messagesAround("P", 10, { before: 5000, after: 5000 }))!;
        assert.deepEqual([whole.messages.length, whole.more_before, whole.more_after], [32, false, false], "more than 1000 reads at most 1000");
        assert.equal(await s.messagesAround("P", 999, { before: 1, after: 1 }), undefined);
        assert.equal(await s.messagesAround("nope", 10, { before: 1, after: 1 }), undefined);

        const from = async (date: number, limit: number) => {
          const p = (await s.messagesFrom("P", date, limit))!;
          return [ids(p.messages as SearchHit[]), ids(p.replied_to as SearchHit[]), p.replies, p.more_before, p.more_after];
        };
        assert.deepEqual(await from(T0 + 600, 3), [[10, 31, 11], [], [], true, true]);
        assert.deepEqual(await from(T0 + 601, 2), [[11, 12], [10], [], true, true]);
        assert.deepEqual(await from(0, 4), [[1, 2, 3, 4], [], [], false, true]);
        assert.deepEqual(await from(T0 + 30 * 60, 5), [[30], [], [], true, false]);
        assert.deepEqual(await from(T0 + 10_000, 5), [[], [], [], true, false]);
        assert.equal(await s.messagesFrom("nope", 0, 5), undefined);
        assert.ok(
          (await s.messagesFrom("A", 0, 200))!.messages.every((m) => m.chat_id === "A"),
          "one chat only",
        );

        for (const bad of [
          s.messagesAround("P", 10, { before: -1, after: 1 }),
          s.messagesAround("P", 10, { before: 1, after: 1.5 }),
          s.messagesAround("P", 10, { before: Number.NaN, after: 1 }),
          s.messagesAround("P", 10.5, { before: 1, after: 1 }),
          s.messagesFrom("P", 0, 0),
          s.messagesFrom("P", Number.NaN, 5),
        ]) {
          await rejectsWith(bad, "TGLENS_BAD_REQUEST");
        }
        assert.equal(await s.deleteChat("P"), true);
        assert.equal(await s.messagesAround("P", 10, { before: 1, after: 1 }), undefined);
        assert.equal(await s.messagesFrom("P", 0, 5), undefined);
        await s.close();
      });
    });

    it("deleteChat forgets a chat: its rows and vectors are gone, no search finds it, a re-created chat starts clean", async () => {
      await withTarget(async (t) => {
        let s = await t.open();
        await s.upsert(A);
        await s.upsert(BB);
        await t.idle(s);
        assert.equal(await s.deleteChat("A"), true);
        assert.equal(await s.deleteChat("A"), false);
        assert.equal(await s.deleteChat("never"), false);
        const q = new Float32Array(A[4]!.vector);
        for (const round of ["open", "reopened"]) {
          assert.equal(await s.chat("A"), undefined, round);
          assert.equal(await s.chatStats("A"), undefined, round);
          assert.deepEqual(
            (await s.chats()).map((c) => c.chat_id),
            ["BB"],
            round,
          );
          assert.deepEqual([(await s.stats()).chats, (await s.stats()).messages], [1, 40], round);
          assert.ok(
            (await s.searchSemantic(q, 1000, {})).every((h) => h.chat_id === "BB"),
            round,
          );
          assert.deepEqual(await s.searchSemantic(q, 10, { chat: "A" }), [], round);
          assert.deepEqual((await s.searchKeyword("word5", 10, {})).map(key), ["BB/5"], round);
          assert.deepEqual(await s.searchKeyword("word5", 10, { chat: "A" }), [], round);
          assert.deepEqual(await s.searchHybrid("word5", q, 10, { chat: "A" }), [], round);
          await s.close();
          s = await t.open();
        }
        // Re-created under the same id, with other vectors: only the new messages are there.
        const fresh = batch("A", 1, 3).map((m) => ({ ...m, vector: unit(m.message_id + 900_000) }));
        assert.deepEqual(await s.upsert(fresh), { inserted: 3, updated: 0, unchanged: 0 });
        assert.equal((await s.chat("A"))!.messages, 3);
        const hits = await s.searchSemantic(new Float32Array(unit(900_002)), 1000, { chat: "A" });
        assert.deepEqual([hits.length, hits[0]!.message_id], [3, 2]);
        assert.ok(hits[0]!.score > 0.99999);
        await s.close();
      });
    });

    it("what was acknowledged survives a crash: after a reopen every message is there once, edits included", async () => {
      await withTarget(async (t) => {
        const s1 = await t.open();
        await s1.upsert(A.slice(0, 60));
        await t.idle(s1);
        await s1.flush();
        // After the last flush: more messages, an edit, a new chat. Then the process dies.
        await s1.upsert(A.slice(60));
        const edit = msg("A", 7, { text: "edited after the flush", clean_text: "edited after the flush", vector: unit(4242), edited: T0 + 1 });
        await s1.upsert([edit]);
        await s1.upsert(BB.slice(0, 10));
        await t.crash(s1);

        const s2 = await t.open();
        assert.equal((await s2.stats()).messages, 100);
        const everything = await s2.searchSemantic(new Float32Array(unit(1)), 1000, {});
        assert.deepEqual([everything.length, new Set(everything.map(key)).size], [100, 100]);
        for (const m of [...A.slice(55), ...BB.slice(0, 10)]) {
          const [top] = await s2.searchSemantic(m.vector, 1, {});
          assert.equal(key(top!), `${m.chat.id}/${m.message_id}`);
        }
        assert.equal((await s2.searchSemantic(new Float32Array(unit(4242)), 1, {}))[0]!.message_id, 7);
        assert.deepEqual(ids(await s2.searchKeyword("flush", 10, {})), [7]);
        // It goes on working, and a clean close keeps all of it.
        await s2.upsert(BB.slice(10));
        await s2.close();
        const s3 = await t.open();
        const all = await s3.searchSemantic(new Float32Array(unit(1)), 1000, {});
        assert.deepEqual([all.length, new Set(all.map(key)).size], [130, 130]);
        await s3.close();
      });
    });

    it("reopening after close gives the same answers", async () => {
      await withTarget(async (t) => {
        const queries = async (s: Storage) => [...(await sampleAnswers(s, "A", "BB")), await s.stats().then((x) => [x.chats, x.messages])];
        const s1 = await t.open();
        await s1.upsert(A);
        await s1.upsert(BB);
        await t.idle(s1);
        const before = await queries(s1);
        await s1.close();
        const s2 = await t.open();
        assert.deepEqual(await queries(s2), before);
        await s2.close();
      });
    });

    it("negative message ids (supergroups migrated from a group) are messages like any other", async () => {
      await withTarget(async (t) => {
        const all = batch("m", -40, 40);
        let s = await t.open();
        assert.deepEqual(await s.upsert(all), { inserted: 81, updated: 0, unchanged: 0 });
        await t.idle(s);
        for (const round of ["open", "reopened"]) {
          assert.equal((await s.chat("m"))!.messages, 81);
          for (const m of all) {
            const [top] = await s.searchSemantic(new Float32Array(m.vector), 1, {});
            assert.equal(top!.message_id, m.message_id, `message ${m.message_id} finds itself (${round})`);
            assert.ok(top!.score > 0.999);
          }
          // -1 and 1 are two messages, each with its own text and vector.
          const [minusOne] = await s.searchSemantic(new Float32Array(msg("m", -1).vector), 1, { chat: "m" });
          assert.match(minusOne!.text, /^message -1 /);
          assert.deepEqual(ids(await s.searchKeyword("word-1", 10, {})), [-1]);
          const early = await s.searchSemantic(new Float32Array(unit(5)), 1000, { to: T0 });
          assert.deepEqual(
            ids(early).sort((x, y) => x - y),
            Array.from({ length: 41 }, (_, i) => i - 40),
            round,
          );
          await s.close();
          s = await t.open();
        }
        assert.deepEqual(await s.upsert([msg("m", -1)]), { inserted: 0, updated: 0, unchanged: 1 });
        await s.close();
      });
    });

    it("bad input is refused with a code and changes nothing; a closed storage refuses everything", async () => {
      await withTarget(async (t) => {
        const s = await t.open();
        await s.upsert(batch("1", 1, 10));
        const state = async () => [await s.stats(), await s.chats(), ids(await s.searchKeyword("message", 100, {}))];
        const before = await state();
        const newer = msg("1", 3, { text: "never stored", clean_text: "never stored", edited: T0 + 5 });
        for (const bad of [
          [msg("1", 11), newer, msg("1", 12, { vector: [1, 2, 3] })],
          [newer, msg("1", 11, { vector: new Array(DIM).fill(0) })],
          [newer, msg("1", 11, { vector: new Array(DIM).fill(Number.NaN) })],
          [newer, msg("1", 2 ** 52)],
          [newer, msg("1", 11, { date: 8_640_000_000_001 })],
          [newer, msg("1", 11, { date: -1 })],
          [newer, { ...msg("1", 11), chat: { id: "", name: "x", type: "private_group" } }],
        ]) {
          await rejectsWith(s.upsert(bad), "TGLENS_SCHEMA");
        }
        assert.deepEqual(await state(), before);
        assert.deepEqual(await s.searchKeyword("never", 10, {}), []);
        assert.deepEqual(await s.searchKeyword("word11", 10, {}), []);
        assert.deepEqual(await s.upsert([]), { inserted: 0, updated: 0, unchanged: 0 });
        await rejectsWith(s.searchSemantic(new Float32Array(10), 5, {}), "TGLENS_BAD_REQUEST");
        await rejectsWith(s.searchSemantic(new Float32Array(DIM), 5, {}), "TGLENS_BAD_REQUEST");
        await rejectsWith(s.searchSemantic(new Float32Array(unit(1)), 0, {}), "TGLENS_BAD_REQUEST");
        await rejectsWith(s.searchKeyword("x", 5, { from: Number.NaN }), "TGLENS_BAD_REQUEST");
        await rejectsWith(s.searchHybrid("x", new Float32Array(unit(1)), Number.NaN, {}), "TGLENS_BAD_REQUEST");
        assert.deepEqual(await state(), before);
        await s.close();
        const q = new Float32Array(unit(1));
        for (const call of [
          () => s.upsert([msg("1", 20)]),
          () => s.searchSemantic(q, 5, {}),
          () => s.searchKeyword("x", 5, {}),
          () => s.searchHybrid("x", q, 5, {}),
          () => s.chats(),
          () => s.chat("1"),
          () => s.chatStats("1"),
          () => s.messagesAround("1", 1, { before: 1, after: 1 }),
          () => s.messagesFrom("1", 0, 1),
          () => s.deleteChat("1"),
          () => s.flush(),
          () => s.stats(),
        ]) {
          await rejectsWith(call(), "TGLENS_NOT_READY");
        }
        await s.close(); // twice is fine
        const again = await t.open();
        assert.deepEqual([(await again.stats()).messages, ids(await again.searchKeyword("message", 100, {}))], [10, before[2]]);
        await again.close();
      });
    });
  });
}
