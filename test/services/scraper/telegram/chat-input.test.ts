import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TglensError } from "../../../../services/common/errors.ts";
import { formatChatInput, parseChatInput } from "../../../../services/scraper/telegram/chat-input.ts";
import { parseLiveScrapeBody, parseSince } from "../../../../services/scraper/telegram/scrape-body.ts";

function refused(fn: () => unknown, field: string, messageIncludes?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TglensError, String(err));
    assert.equal(err.code, "TGLENS_BAD_REQUEST");
    assert.equal(err.details?.field, field);
    assert.match(err.message, new RegExp(`body\\.${field}`));
    if (messageIncludes) assert.match(err.message, messageIncludes);
    return true;
  });
}

describe("parseChatInput", () => {
  const cases: [string, ReturnType<typeof parseChatInput>][] = [
    ["@durov", { kind: "username", username: "durov" }],
    ["  durov_news ", { kind: "username", username: "durov_news" }],
    ["https://t.me/durov", { kind: "username", username: "durov" }],
    ["http://t.me/durov/", { kind: "username", username: "durov" }],
    ["t.me/durov", { kind: "username", username: "durov" }],
    ["https://t.me/durov/123", { kind: "username", username: "durov" }],
    ["https://t.me/durov?start=x", { kind: "username", username: "durov" }],
    ["https://telegram.me/durov", { kind: "username", username: "durov" }],
    ["t.me/s/durov", { kind: "username", username: "durov" }],
    ["https://t.me/c/1234567890/55", { kind: "id", id: "-1001234567890" }],
    ["tg://resolve?domain=durov", { kind: "username", username: "durov" }],
    ["-1001234567890", { kind: "id", id: "-1001234567890" }],
    ["1234567890", { kind: "id", id: "1234567890" }],
    ["-587654321", { kind: "id", id: "-587654321" }],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const parsed = parseChatInput(text);
      assert.deepEqual(parsed, expected);
      assert.deepEqual(parseChatInput(formatChatInput(parsed)), parsed, "the canonical form reads back the same");
    });
  }

  it("refuses private invite links, saying they are not supported", () => {
    for (const link of ["https://t.me/+AbCdEf123", "t.me/joinchat/AbCdEf123"])
      refused(() => parseChatInput(link), "chat", /invite link.*not support/);
  });

  it("refuses what names no chat, naming the field", () => {
    for (const bad of [
      "",
      "   ",
      "@ab",
      "@1abc",
      "https://example.com/durov",
      "t.me/",
      "hello world",
      "0",
      "12.5",
      "@durov!",
      "tg://resolve?phone=123",
    ]) {
      refused(() => parseChatInput(bad), "chat");
    }
    for (const bad of [42, null, undefined, ["@durov"], { chat: "@durov" }]) refused(() => parseChatInput(bad), "chat");
  });
});

describe("parseLiveScrapeBody", () => {
  it("reads chat, limit and since (unix seconds or an ISO date)", () => {
    assert.deepEqual(parseLiveScrapeBody({ chat: "t.me/durov" }), { chat: "@durov" });
    assert.deepEqual(parseLiveScrapeBody({ chat: "1234567890", limit: 50, since: 1700000000 }), { chat: "1234567890", limit: 50, since: 1700000000 });
    assert.equal(parseLiveScrapeBody({ chat: "@durov", since: "2024-01-02" }).since, Date.UTC(2024, 0, 2) / 1000);
    assert.equal(parseLiveScrapeBody({ chat: "@durov", since: "2024-01-02T03:04:05Z" }).since, Date.UTC(2024, 0, 2, 3, 4, 5) / 1000);
    assert.equal(parseSince("1700000000"), 1700000000);
  });

  it("refuses a bad limit, a bad since and unknown fields, each by name", () => {
    for (const limit of [0, -1, 1.5, "10", null]) refused(() => parseLiveScrapeBody({ chat: "@durov", limit }), "limit");
    for (const since of ["yesterday", -5, 1.5, "2024-13-45", "2005-02-30", "06.02.2005", "-5", true])
      refused(() => parseLiveScrapeBody({ chat: "@durov", since }), "since");
    refused(() => parseLiveScrapeBody({ chat: "@durov", limt: 5 }), "limt");
    refused(() => parseLiveScrapeBody({ limit: 5 }), "chat");
  });
});
