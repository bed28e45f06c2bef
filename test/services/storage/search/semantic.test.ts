/**
 * Semantic search on SQLite + usearch: exact cosine scores equal to brute force, and filters on an
 * HNSW chat both ways (an exact scan of the matching rows, and over-fetching from the index).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EmbeddedMessage } from "../../../../services/common/schemas.ts";
import { openStorage } from "../../../../services/storage/sqlite-storage.ts";
import { scratchDirs } from "../../../helpers/temp.ts";
import { batch, bruteForce, cos, ids, msg, near, T0, unit } from "../helpers.ts";

const tempDir = scratchDirs("semantic");

describe("semantic search", () => {
  test("returns the nearest messages with cosine scores, equal to brute force while exact", async () => {
    const s = await openStorage({ dir: tempDir() });
    const msgs = batch("100", 1, 300);
    assert.deepEqual(await s.upsert(msgs), { inserted: 300, updated: 0, unchanged: 0 });
    const q = near(msgs[16]!.vector, 0.3, 1);
    const hits = await s.searchSemantic(new Float32Array(q), 10, {});
    assert.equal(hits.length, 10);
    assert.equal(hits[0]!.message_id, 17);
    assert.deepEqual(ids(hits), bruteForce(q, msgs, 10));
    for (const h of hits) {
      assert.ok(Math.abs(h.score - cos(q, msgs[h.message_id - 1]!.vector)) < 1e-5, "score is the cosine");
    }
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
    // A plain number[] works as a query too, and the row comes back whole.
    const [top] = await s.searchSemantic(msgs[41]!.vector, 1, {});
    assert.equal(top!.message_id, 42);
    assert.ok(top!.score > 0.99999);
    assert.deepEqual(
      { ...top, score: 0 },
      {
        chat_id: "100",
        chat_name: "Chat 100",
        chat_type: "private_supergroup",
        chat_username: null,
        message_id: 42,
        date: T0 + 42 * 60,
        sender_id: "user1",
        sender: "Ann",
        text: msgs[41]!.text,
        clean_text: msgs[41]!.clean_text,
        lang: "en",
        reply_to: null,
        forwarded_from: null,
        edited: null,
        media: null,
        score: 0,
      },
    );
    await s.close();
  });
});

describe("semantic search: filters", () => {
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
      const s = await openStorage({ dir, hnswThreshold: 100, exactFilterMax: mode === "over-fetch from the index" ? 0 : 4096 });
      await s.upsert(a);
      await s.upsert(b);
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
        const hits = await s.searchSemantic(new Float32Array(q), 5, f);
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
      const ranged = await s.searchSemantic(new Float32Array(unit(1)), 1000, { chat: "A", from: T0 + 100 * 60, to: T0 + 130 * 60 });
      assert.deepEqual(
        ids(ranged).sort((x, y) => x - y),
        Array.from({ length: 31 }, (_, i) => 100 + i),
      );
      assert.deepEqual(await s.searchSemantic(new Float32Array(unit(1)), 5, { chat: "nope" }), []);
      assert.deepEqual(await s.searchSemantic(new Float32Array(unit(1)), 5, { sender: "nobody" }), []);
      await s.close();
    });
  }

  test("an empty sender filters nothing", async () => {
    const s = await openStorage({ dir, hnswThreshold: 100 });
    const q = new Float32Array(msg("A", 7).vector);
    assert.deepEqual(await s.searchSemantic(q, 10, { sender: "" }), await s.searchSemantic(q, 10, {}));
    await s.close();
  });
});
