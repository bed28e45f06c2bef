/** The app's addresses. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contextHref, pageAt, pageHref } from "../../../../../../services/gateway/web/app/lib/pages.ts";

describe("web app: pages", () => {
  it("names the page of a path, a trailing slash or not", () => {
    assert.equal(pageAt("/"), "search");
    assert.equal(pageAt("/chats/"), "chats");
    assert.equal(pageAt("/analytics"), "analytics");
    assert.equal(pageAt("/elsewhere"), undefined);
  });

  it("writes a page's address with its query, empty values left out", () => {
    assert.equal(pageHref("search"), "/");
    assert.equal(pageHref("analytics", { chat: "-100123", from: "" }), "/analytics?chat=-100123");
    assert.equal(contextHref("1498765432", 48), "/context?chat=1498765432&message=48");
  });
});
