/** Search bounds and live-read starts: whole spans, UTC, and nothing guessed. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseTimeBound } from "../../../services/common/dates.ts";

const utc = (...parts: [number, number, number, number?, number?, number?]) =>
  Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3] ?? 0, parts[4] ?? 0, parts[5] ?? 0) / 1000;

describe("parseTimeBound", () => {
  it("reads a date alone as the whole day: from its start, to its last second", () => {
    assert.equal(parseTimeBound("to", "2005-02-06", "from"), utc(2005, 2, 6));
    assert.equal(parseTimeBound("to", "2005-02-06", "to"), utc(2005, 2, 6, 23, 59, 59));
  });

  it("reads a month as the whole month, leap years included", () => {
    assert.equal(parseTimeBound("to", "2024-02", "from"), utc(2024, 2, 1));
    assert.equal(parseTimeBound("to", "2024-02", "to"), utc(2024, 2, 29, 23, 59, 59));
    assert.equal(parseTimeBound("to", "2023-12", "to"), utc(2023, 12, 31, 23, 59, 59));
  });

  it("reads a time to its stated precision, in UTC unless a zone is given", () => {
    assert.equal(parseTimeBound("to", "2005-02-06T18:30", "to"), utc(2005, 2, 6, 18, 30, 59));
    assert.equal(parseTimeBound("to", "2005-02-06 18:30", "from"), utc(2005, 2, 6, 18, 30));
    assert.equal(parseTimeBound("to", "2005-02-06T18:30:15", "to"), utc(2005, 2, 6, 18, 30, 15));
    assert.equal(parseTimeBound("to", "2005-02-06T18:30:15.250Z", "from"), utc(2005, 2, 6, 18, 30, 15));
    assert.equal(parseTimeBound("to", "2005-02-06T18:30:00+02:00", "from"), utc(2005, 2, 6, 16, 30));
    assert.equal(parseTimeBound("to", "2005-02-06T01:00-0130", "from"), utc(2005, 2, 6, 2, 30));
  });

  it("keeps unix seconds as they are", () => {
    assert.equal(parseTimeBound("to", "1107648000", "to"), 1107648000);
    assert.equal(parseTimeBound("to", "0", "from"), 0);
  });

  for (const [value, why] of [
    ["06.02.2005", /must be a date, YYYY-MM-DD.*got "06\.02\.2005"/],
    ["02/06/2005", /must be a date/],
    ["Feb 6 2005", /must be a date/],
    ["yesterday", /must be a date/],
    ["2005-2-6", /must be a date/],
    ["2005-02-06Z", /must be a date/],
    ["2005-02-30", /not a real date: "2005-02-30" \(February 2005 has 28 days\)/],
    ["2023-02-29", /February 2023 has 28 days/],
    ["2005-13-01", /there is no month 13/],
    ["2005-00", /there is no month 0/],
    ["2005-02-00", /February 2005 has 28 days/],
    ["2005-02-06T24:00", /there is no time 24:00/],
    ["2005-02-06T12:60", /there is no time/],
    ["2005-02-06T12:00+25:00", /there is no time zone/],
    ["99999999999999999999", /too large/],
  ] as const) {
    it(`refuses ${JSON.stringify(value)} with TGLENS_BAD_REQUEST naming the field`, () => {
      assert.throws(
        () => parseTimeBound("--to", value, "to"),
        (err: Error & { code?: string }) => err.code === "TGLENS_BAD_REQUEST" && err.message.startsWith("--to ") && why.test(err.message),
      );
    });
  }
});
