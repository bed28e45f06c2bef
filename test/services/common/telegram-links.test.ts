/**
 * Message links for every chat type: t.me/<username>/<id> for public supergroups and channels,
 * t.me/c/<internal id>/<id> for the others (ids as exports write them, or in the Bot API's -100 form),
 * none for private chats and basic groups, with the reason.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CHAT_TYPES, internalChannelId, linkNote, messageLink } from "../../../services/common/telegram-links.ts";

describe("messageLink", () => {
  const expected: Record<(typeof CHAT_TYPES)[number], string | null> = {
    personal_chat: null,
    bot_chat: null,
    saved_messages: null,
    private_group: null,
    private_supergroup: "https://t.me/c/1498765432/53",
    public_supergroup: "https://t.me/c/1498765432/53",
    private_channel: "https://t.me/c/1498765432/53",
    public_channel: "https://t.me/c/1498765432/53",
  };
  for (const type of CHAT_TYPES) {
    it(`links a message of a ${type} without a known username: ${expected[type] ?? "none, said why"}`, () => {
      const chat = { chat_id: "1498765432", type, username: null };
      assert.equal(messageLink(chat, 53), expected[type]);
      if (expected[type] === null) assert.match(linkNote(chat)!, /^Telegram has no links to messages of (private chats|basic groups)/);
      else assert.equal(linkNote(chat), null);
    });
  }

  it("uses the public username of a supergroup or channel, and never a private chat's", () => {
    assert.equal(messageLink({ chat_id: "1498765432", type: "public_supergroup", username: "kreuzberg" }, 7), "https://t.me/kreuzberg/7");
    assert.equal(messageLink({ chat_id: "-1001234", type: "public_channel", username: "news_room" }, 9), "https://t.me/news_room/9");
    assert.equal(messageLink({ chat_id: "777", type: "personal_chat", username: "ann_smith" }, 9), null);
    // Not a username Telegram allows (it would not be a t.me path): the internal link instead.
    assert.equal(messageLink({ chat_id: "55555", type: "public_channel", username: "a/b" }, 9), "https://t.me/c/55555/9");
  });

  it("takes the internal id out of the Bot API's -100 form, and refuses a basic group's negative id", () => {
    assert.equal(internalChannelId("1498765432"), "1498765432");
    assert.equal(internalChannelId("-1001498765432"), "1498765432");
    assert.equal(internalChannelId("-1000000001234"), "1234", "-(10^12 + id), not a string cut");
    assert.equal(internalChannelId("-1001234"), null, "a basic group (-1001234) in the Bot API's form");
    assert.equal(internalChannelId("-100"), null);
    assert.equal(internalChannelId("0"), null);
    assert.equal(messageLink({ chat_id: "-1001498765432", type: "private_supergroup" }, 53), "https://t.me/c/1498765432/53");
    const odd = { chat_id: "-42", type: "private_supergroup" };
    assert.equal(messageLink(odd, 1), null);
    assert.match(linkNote(odd)!, /-42 is not a channel's id/);
  });

  it("gives no link to a message from before the group became a supergroup (a negative id), nor to an unknown chat type", () => {
    const chat = { chat_id: "1498765432", type: "private_supergroup" };
    assert.equal(messageLink(chat, -5), null);
    assert.equal(messageLink(chat, 0), null);
    const unknown = { chat_id: "1498765432", type: "unknown" };
    assert.equal(messageLink(unknown, 5), null);
    assert.match(linkNote(unknown)!, /type is unknown/);
  });
});
