/** The one way the bot and the CLI find the chat a person names. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { matchChat } from "../../../services/common/chat-match.ts";

const CHATS = [
  { chat_id: "-1001234", name: "Kreuzberg Crew 🍻", username: "kreuzberg" },
  { chat_id: "42", name: "Old friend", username: null },
  { chat_id: "43", name: "Old colleagues" },
  { chat_id: "44", name: "Room 777" },
];
const id = (input: string) => {
  const m = matchChat(input, CHATS);
  return "chat" in m ? m.chat.chat_id : "none" in m ? "none" : m.several.map((c) => c.chat_id);
};

describe("matchChat", () => {
  it("finds a chat by id, @username, t.me link, exact name or an unambiguous part of it, in any case", () => {
    assert.equal(id("-1001234"), "-1001234");
    assert.equal(id("@Kreuzberg"), "-1001234");
    assert.equal(id("https://t.me/kreuzberg"), "-1001234");
    assert.equal(id("kreuzberg crew 🍻"), "-1001234");
    assert.equal(id("CREW"), "-1001234");
    assert.equal(id("  old FRIEND "), "42");
  });

  it("lists the candidates when a part of a name is ambiguous", () => {
    assert.deepEqual(id("old"), ["42", "43"]);
  });

  it("finds nothing for an unknown chat, an empty input, or a number that is no chat's id", () => {
    assert.equal(id("no such chat"), "none");
    assert.equal(id(""), "none");
    assert.equal(id("777"), "none", "a number is an id, never a part of a name");
    assert.equal(id("room 777"), "44");
  });
});
