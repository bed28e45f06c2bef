/** Which words of a message a query marks. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { highlight, queryTerms, sharesWords } from "../../../../../../services/gateway/web/app/lib/highlight.ts";

const marked = (text: string, query: string) => highlight(text, query).flatMap((s) => (s.hit ? [s.text] : []));

describe("web app: highlight", () => {
  it("cuts the text into pieces that join into the text again", () => {
    const text = "Dentist moved my appointment to Thursday 3pm, the filling fell out again 😩";
    assert.equal(
      highlight(text, "dentist thursday")
        .map((s) => s.text)
        .join(""),
      text,
    );
    assert.deepEqual(marked(text, "dentist thursday"), ["Dentist", "Thursday"]);
  });

  it("compares case- and accent-blind, in any script", () => {
    assert.deepEqual(marked("Кто-нибудь знает нормального сантехника?", "САНТЕХНИКА"), ["сантехника"]);
    assert.deepEqual(marked("Un café à Zürich", "cafe zurich"), ["café", "Zürich"]);
  });

  it("marks longer forms of a word of four letters or more, and any word a `word*` begins", () => {
    assert.deepEqual(marked("the delivery was late, deliveries always are", "deliver"), ["delivery", "deliveries"]);
    assert.deepEqual(marked("car cart carpet", "car"), ["car"]);
    assert.deepEqual(marked("car cart carpet", "car*"), ["car", "cart", "carpet"]);
  });

  it("leaves little words unmarked, unless the query has nothing else", () => {
    assert.deepEqual(
      queryTerms("when is the tooth doctor visit").map((t) => t.word),
      ["tooth", "doctor", "visit"],
    );
    assert.deepEqual(marked("where is it", "where is"), ["where", "is"]);
  });

  it("says whether a message shares a word with the query", () => {
    assert.equal(sharesWords("Spilled tea all over my laptop", "computer died after liquid damage"), false);
    assert.equal(sharesWords("my laptop died", "computer died"), true);
  });
});
