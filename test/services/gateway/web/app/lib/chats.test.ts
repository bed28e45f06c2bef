/** The chat filter by name. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChatSummary } from "../../../../../../services/gateway/api/client.ts";
import { chatLabel, findChat } from "../../../../../../services/gateway/web/app/lib/chats.ts";

const chat = (chat_id: string, name: string): ChatSummary => ({
  chat_id,
  name,
  type: "private_group",
  username: null,
  messages: 1,
  senders: 1,
  first_date: null,
  last_date: null,
});
const chats = [chat("1", "Kreuzberg Crew 🍻"), chat("2", "Family"), chat("3", "Family"), chat("4", "Family trips")];

describe("web app: chats by name", () => {
  it("finds a chat by its whole name in any case, by a part only it has, or by its id", () => {
    assert.equal(findChat(chats, "kreuzberg crew 🍻").chat?.chat_id, "1");
    assert.equal(findChat(chats, "berg").chat?.chat_id, "1");
    assert.equal(findChat(chats, "trips").chat?.chat_id, "4");
    assert.equal(findChat(chats, " 3 ").chat?.chat_id, "3");
  });

  it("says when no chat, or more than one, has the name", () => {
    assert.match(findChat(chats, "work").problem ?? "", /No chat is called “work”/);
    assert.match(findChat(chats, "family").problem ?? "", /^2 chats match/);
  });

  it("shows a chat by its name, or by its id when the name is shared", () => {
    assert.equal(chatLabel(chats, "1"), "Kreuzberg Crew 🍻");
    assert.equal(chatLabel(chats, "2"), "2");
    assert.equal(chatLabel(chats, "99"), "99");
  });
});
