import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFtsQuery } from "../../../services/storage/fts-query.ts";

test("every chunk becomes a quoted FTS5 string; quotes are doubled", () => {
  assert.deepEqual(buildFtsQuery("usb drive"), { all: '"usb" "drive"', any: '"usb" OR "drive"', terms: 2 });
  assert.equal(buildFtsQuery("NEAR(a b)")?.all, '"NEAR(a" "b)"');
  assert.equal(buildFtsQuery("-foo col:bar ^x")?.all, '"-foo" "col:bar" "^x"');
  assert.equal(buildFtsQuery('say "hello world" now')?.all, '"say" "hello world" "now"');
  assert.equal(buildFtsQuery('"unterminated phrase')?.all, '"unterminated phrase"');
  assert.equal(buildFtsQuery("it's o'clock")?.all, `"it's" "o'clock"`);
});

test("a trailing * is a prefix search; chunks without letters or digits are dropped", () => {
  assert.equal(buildFtsQuery("ubunt*")?.all, '"ubunt" *');
  assert.equal(buildFtsQuery("*ubuntu")?.all, '"*ubuntu"');
  for (const q of ["", "   ", '"', '""', "*", "-", ":", "()", "🙂", "+ - * ^"]) assert.equal(buildFtsQuery(q), undefined, q);
});

test("at most 32 terms", () => {
  const q = buildFtsQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "));
  assert.equal(q?.terms, 32);
});

test("control characters (NUL above all: FTS5 would end its string there) separate terms", () => {
  assert.equal(buildFtsQuery("usb\u0000drive")?.all, '"usb" "drive"');
  assert.equal(buildFtsQuery('"usb\u0000drive"')?.all, '"usb drive"');
  assert.equal(buildFtsQuery("ubunt\u0001*")?.all, '"ubunt"', "a star cut off by a control character is no prefix search");
  assert.equal(buildFtsQuery("\u0000\u001f\u007f\u0085"), undefined);
  for (const q of ["a\u0000b", "\u0000", "x\u0009\u000by"]) assert.doesNotMatch(buildFtsQuery(q)?.all ?? "", /\p{Cc}/u, JSON.stringify(q));
});
