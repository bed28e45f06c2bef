/**
 * Hybrid search: reciprocal-rank fusion of the semantic and the keyword lists, exactly as
 * documented (1 / (60 + rank) from each list), and the filters of every search mode.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openStorage } from "../../../../services/storage/sqlite-storage.ts";
import type { SearchHit } from "../../../../services/storage/types.ts";
import { scratchDirs } from "../../../helpers/temp.ts";
import { batch, ids, msg, near, unit } from "../helpers.ts";

const tempDir = scratchDirs("hybrid");

describe("hybrid search", () => {
  test("reciprocal-rank fusion puts what both lists rank high first", async () => {
    const s = await openStorage({ dir: tempDir() });
    const q = unit(777);
    const msgs = batch("5", 1, 100);
    // 10: semantically closest and a keyword match; 20: semantically second, no keyword; 30-39: keyword only.
    msgs[9] = msg("5", 10, { vector: near(q, 0.1, 1), text: "kernel panic again", clean_text: "kernel panic again" });
    msgs[19] = msg("5", 20, { vector: near(q, 0.3, 2) });
    for (let i = 30; i < 40; i++) msgs[i - 1] = msg("5", i, { text: `kernel panic ${i} kernel`, clean_text: `kernel panic ${i} kernel` });
    await s.upsert(msgs);
    const sem = await s.searchSemantic(new Float32Array(q), 150, {});
    const kw = await s.searchKeyword("kernel panic", 150, {});
    const hits = await s.searchHybrid("kernel panic", new Float32Array(q), 5, {});
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
    assert.deepEqual(ids(await s.searchHybrid("!!!", new Float32Array(q), 5, {})), ids(sem.slice(0, 5)));
    await s.close();
  });

  test("hybrid search honours the chat filter", async () => {
    const s = await openStorage({ dir: tempDir(), hnswThreshold: 100 });
    await s.upsert(batch("A", 1, 400));
    await s.upsert(batch("BB", 1, 60));
    const hy = await s.searchHybrid("topic3", new Float32Array(unit(2)), 20, { chat: "BB" });
    assert.ok(hy.length > 0 && hy.every((h) => h.chat_id === "BB"));
    await s.close();
  });
});
