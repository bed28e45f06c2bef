/**
 * Upsert on SQLite + usearch: a redelivery (even re-embedded, equal up to float noise) changes
 * nothing; an edit replaces text and vector and an older redelivery never undoes it; the chat row
 * follows the messages (name, type), keeping the @username only live reading knows.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { batch, ids, msg, T0, unit } from "./helpers.ts";

const tempDir = scratchDirs("upsert");

describe("upsert", () => {
  test("redelivery of the same batch changes nothing and duplicates nothing", async () => {
    const s = await openStorage({ dir: tempDir() });
    const msgs = batch("7", 1, 120);
    await s.upsert(msgs);
    assert.deepEqual(await s.upsert(msgs), { inserted: 0, updated: 0, unchanged: 120 });
    // The same embedding up to float noise (a re-import re-embeds) also counts as unchanged.
    const noisy = msgs.map((m) => ({ ...m, vector: m.vector.map((x, i) => x + (i % 2 ? 1e-9 : -1e-9)) }));
    assert.deepEqual(await s.upsert(noisy), { inserted: 0, updated: 0, unchanged: 120 });
    // Within one batch, a repeated message counts once as inserted and then as unchanged.
    assert.deepEqual(await s.upsert([msg("7", 500), msg("7", 500)]), { inserted: 1, updated: 0, unchanged: 1 });
    assert.equal((await s.stats()).messages, 121);
    assert.equal((await s.chat("7"))!.messages, 121);
    const all = await s.searchSemantic(new Float32Array(unit(3)), 1000, {});
    assert.equal(all.length, 121);
    assert.equal(new Set(ids(all)).size, 121);
    assert.equal((await s.searchKeyword("word55", 10, {})).length, 1);
    await s.close();
  });

  test("an edit updates text and vector; an older redelivery does not undo it", async () => {
    const s = await openStorage({ dir: tempDir() });
    await s.upsert(batch("9", 1, 50));
    const edited = msg("9", 5, { text: "edited banana split", clean_text: "edited banana split", vector: unit(5000), edited: T0 + 9999 });
    assert.deepEqual(await s.upsert([edited]), { inserted: 0, updated: 1, unchanged: 0 });
    assert.deepEqual(ids(await s.searchKeyword("banana", 10, {})), [5]);
    assert.equal((await s.searchKeyword("word5", 10, {})).length, 0);
    const [top] = await s.searchSemantic(new Float32Array(unit(5000)), 1, {});
    assert.equal(top!.message_id, 5);
    assert.ok(top!.score > 0.99999);
    assert.equal(top!.edited, T0 + 9999);
    // The old vector no longer finds it.
    assert.notEqual((await s.searchSemantic(new Float32Array(msg("9", 5).vector), 1, {}))[0]!.message_id, 5);
    // The pre-edit version redelivered (edited: null) is stale: nothing changes.
    assert.deepEqual(await s.upsert([msg("9", 5)]), { inserted: 0, updated: 0, unchanged: 1 });
    assert.equal((await s.searchKeyword("banana", 10, {})).length, 1);
    // Metadata only (same text and vector): updated, and still found once.
    assert.deepEqual(await s.upsert([{ ...edited, media: "photo" }]), { inserted: 0, updated: 1, unchanged: 0 });
    assert.equal((await s.searchSemantic(new Float32Array(unit(5000)), 1, {}))[0]!.media, "photo");
    assert.equal((await s.stats()).messages, 50);
    await s.close();
  });

  test("live reading sets the chat username, an export of the same chat keeps it, every search mode returns it", async () => {
    const s = await openStorage({ dir: tempDir() });
    const live = { id: "-1009", name: "Live", type: "public_supergroup", username: "kreuzberg" };
    await s.upsert(batch("-1009", 1, 3).map((m) => ({ ...m, chat: live })));
    await s.upsert(batch("4", 1, 2)); // an exported chat: no username
    assert.equal((await s.chat("-1009"))!.username, "kreuzberg");
    assert.equal((await s.chat("4"))!.username, null);
    const q = new Float32Array(msg("-1009", 2).vector);
    for (const hits of [await s.searchSemantic(q, 10, {}), await s.searchKeyword("message", 10, {}), await s.searchHybrid("message", q, 10, {})]) {
      assert.equal(hits.length, 5);
      for (const h of hits) assert.equal(h.chat_username, h.chat_id === "-1009" ? "kreuzberg" : null, `${h.chat_id}/${h.message_id}`);
    }
    // An export of the same chat (renamed since, no username): the name follows, the username stays.
    const exported = { id: "-1009", name: "Live, renamed", type: "public_supergroup" };
    assert.deepEqual(await s.upsert(batch("-1009", 1, 4).map((m) => ({ ...m, chat: exported }))), { inserted: 1, updated: 0, unchanged: 3 });
    assert.deepEqual([(await s.chat("-1009"))!.name, (await s.chat("-1009"))!.username], ["Live, renamed", "kreuzberg"]);
    // A new username replaces the old one, even when the messages are unchanged.
    const renamed = { ...msg("-1009", 1), chat: { ...exported, username: "kreuzberg_crew" } };
    assert.deepEqual(await s.upsert([renamed]), { inserted: 0, updated: 0, unchanged: 1 });
    assert.equal((await s.chat("-1009"))!.username, "kreuzberg_crew");
    assert.equal((await s.searchKeyword("word4", 1, {}))[0]!.chat_username, "kreuzberg_crew");
    assert.deepEqual(
      (await s.chats()).map((c) => [c.chat_id, c.username]),
      [
        ["4", null],
        ["-1009", "kreuzberg_crew"],
      ],
    );
    await s.close();
  });
});
