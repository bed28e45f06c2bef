/**
 * Keyword search on SQLite FTS5: what a person types is text, never FTS5 syntax or an error, and
 * it still finds what the words say; filters as for every search mode.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openStorage } from "../../../../services/storage/sqlite-storage.ts";
import { scratchDirs } from "../../../helpers/temp.ts";
import { batch, ids, msg, T0, unit } from "../helpers.ts";

const tempDir = scratchDirs("keyword");

describe("keyword search", () => {
  test("FTS5 syntax in the query is text, never an error", async () => {
    const s = await openStorage({ dir: tempDir() });
    await s.upsert([
      msg("1", 1, { text: "how do I mount a usb drive? see https://help.ubuntu.com/usb", clean_text: "how do I mount a usb drive? see" }),
      msg("1", 2, { text: "NEAR the end: apt-get install foo-bar", clean_text: "NEAR the end apt-get install foo-bar" }),
      msg("1", 3, { text: 'say "hello world" twice', clean_text: "say hello world twice" }),
      msg("1", 4, { text: "hello there, world", clean_text: "hello there world" }),
      msg("1", 5, { text: "Ünïcödé ДРАЙВЕР nvidia", clean_text: "Ünïcödé ДРАЙВЕР nvidia" }),
    ]);
    const nasty = [
      '"',
      '""',
      '"""',
      "*",
      "**",
      "NEAR",
      "NEAR(",
      "NEAR(a b, 2)",
      "a NEAR b",
      "-",
      "-foo",
      "foo:bar",
      "text:usb",
      ":",
      "(",
      ")",
      "(usb",
      "usb)",
      "^usb",
      "AND",
      "OR",
      "NOT",
      "usb AND",
      "OR usb",
      "NOT usb",
      "usb NOT",
      "'",
      "\\",
      "{usb}",
      "+usb",
      "usb*",
      "*usb",
      "u*sb",
      "",
      "   ",
      "🙂",
      '"unterminated usb',
      'usb"drive',
      'col:"x" -y *z ^',
      "\u0000",
      "a\nb",
      "clean_text:mount",
      "rowid:1",
      "messages_fts",
      "x".repeat(5000),
      Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "),
    ];
    for (const q of nasty) {
      await assert.doesNotReject(s.searchKeyword(q, 10, {}), `query ${JSON.stringify(q).slice(0, 40)}`);
      await assert.doesNotReject(s.searchHybrid(q, new Float32Array(unit(1)), 10, {}), `hybrid ${JSON.stringify(q).slice(0, 40)}`);
    }
    // ... and they still find what the words say.
    const found = async (q: string) => ids(await s.searchKeyword(q, 10, {}));
    assert.deepEqual(await found("NEAR"), [2]);
    assert.deepEqual(await found("foo-bar"), [2]);
    assert.deepEqual(await found("usb:"), [1]);
    assert.deepEqual(await found("text:usb"), []); // the phrase "text usb", not a column filter
    assert.deepEqual(await found("-mount"), [1]);
    assert.deepEqual(await found('"hello world"'), [3]); // phrase
    assert.deepEqual((await found("hello world")).sort(), [3, 4]); // all terms
    assert.deepEqual(await found("mou*"), [1]); // prefix
    assert.deepEqual(await found("unicode драйвер"), [5]); // diacritics and case folded
    assert.deepEqual(await found("help.ubuntu.com"), [1]); // only in the original text
    // All terms first, then any term: "mount zebra" finds the mount message.
    assert.deepEqual(await found("mount zebra"), [1]);
    const scored = await s.searchKeyword("hello", 10, {});
    assert.ok(scored.every((h) => h.score > 0));
    await s.close();
  });

  test("keyword search honours chat, sender and date filters", async () => {
    // Chat "A" holds 400 messages and is HNSW (threshold 100); chat "BB" holds 60 and is exact.
    const a = batch("A", 1, 400);
    const b = batch("BB", 1, 60);
    const s = await openStorage({ dir: tempDir(), hnswThreshold: 100 });
    await s.upsert(a);
    await s.upsert(b);
    const t3 = await s.searchKeyword("topic3", 1000, {});
    assert.equal(t3.length, [...a, ...b].filter((m) => m.message_id % 7 === 3).length);
    const f = { chat: "A", sender: "ann", from: T0 + 10 * 60, to: T0 + 200 * 60 };
    const hits = await s.searchKeyword("topic3", 1000, f);
    assert.ok(hits.length > 0);
    assert.deepEqual(
      ids(hits).sort((x, y) => x - y),
      a.filter((m) => m.message_id % 7 === 3 && m.sender.name === "Ann" && m.date >= f.from && m.date <= f.to).map((m) => m.message_id),
    );
    await s.close();
  });
});
