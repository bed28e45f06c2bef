/** The search in the URL: read leniently, written minimally, and turned into the API's query. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EMPTY_SEARCH,
  hasFilters,
  parseSearch,
  RESULTS_WANTED,
  sameSearch,
  searchParams,
  searchQueryString,
} from "../../../../../../services/gateway/web/app/lib/search-state.ts";

describe("web app: search state", () => {
  it("reads every field from the URL and writes it back the same", () => {
    const query = "?q=tooth+doctor&chat=-1001498765432&sender=Anna+Petrova&from=2024-01-01&to=2024-01-31&mode=hybrid";
    const state = parseSearch(query);
    assert.deepEqual(state, {
      q: "tooth doctor",
      mode: "hybrid",
      chat: "-1001498765432",
      sender: "Anna Petrova",
      from: "2024-01-01",
      to: "2024-01-31",
    });
    assert.equal(searchQueryString(state), query);
  });

  it("leaves out defaults and empty fields, so one search has one URL", () => {
    assert.equal(searchQueryString(EMPTY_SEARCH), "");
    assert.equal(searchQueryString({ ...EMPTY_SEARCH, q: "x", mode: "semantic" }), "?q=x");
    assert.ok(sameSearch(parseSearch("?mode=semantic&q=x&chat="), parseSearch("?q=x")));
  });

  it("drops what a hand-edited URL gets wrong, keeping the rest", () => {
    assert.deepEqual(parseSearch("?q=x&mode=fuzzy&chat=Kreuzberg&from=yesterday&to=2024-02"), { ...EMPTY_SEARCH, q: "x", to: "2024-02" });
  });

  it("asks the API only when there is something to look for, with the filters that are set", () => {
    assert.equal(searchParams({ ...EMPTY_SEARCH, q: "   " }), undefined);
    assert.deepEqual(searchParams(parseSearch("?q=+plumber+&sender=user123&from=2024-01-19")), {
      q: "plumber",
      k: RESULTS_WANTED,
      mode: "semantic",
      sender: "user123",
      from: "2024-01-19",
    });
    assert.equal(hasFilters(parseSearch("?q=x&mode=keyword")), false);
    assert.equal(hasFilters(parseSearch("?q=x&to=2024-01-01")), true);
  });
});
