/** A chat named on the command line: found, unknown, or ambiguous with the candidates listed. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveChat } from "../../cli/chat-lookup.ts";
import type { ChatSummary as ChatRow } from "../../services/gateway/api/client.ts";

const row = (chat_id: string, name: string, username: string | null = null): ChatRow => ({
  chat_id,
  name,
  username,
  type: "private_group",
  messages: 1,
  senders: 1,
  first_date: null,
  last_date: null,
});
const CHATS = [row("-1001234", "Kreuzberg Crew 🍻", "kreuzberg"), row("42", "Old friend"), row("43", "Old colleagues")];
const refusal = (input: string, chats = CHATS) => {
  try {
    resolveChat(input, chats);
  } catch (err) {
    return [(err as { code: string }).code, (err as Error).message];
  }
  assert.fail(`${input} was found`);
};

describe("resolveChat", () => {
  it("finds a chat by id, @username or part of its name, in any case", () => {
    assert.equal(resolveChat("-1001234", CHATS).chat_id, "-1001234");
    assert.equal(resolveChat("@KREUZBERG", CHATS).chat_id, "-1001234");
    assert.equal(resolveChat("crew", CHATS).chat_id, "-1001234");
    assert.equal(resolveChat("old friend", CHATS).chat_id, "42");
  });

  it("says an unknown chat is unknown", () => {
    assert.deepEqual(refusal("No Such Chat"), ["TGLENS_NOT_FOUND", 'no indexed chat matches "No Such Chat" (`tglens chats` lists them)']);
    assert.equal(refusal("777")[0], "TGLENS_NOT_FOUND");
    assert.equal(refusal(" ")[0], "TGLENS_BAD_REQUEST");
  });

  it("lists the candidates of an ambiguous name, at most ten", () => {
    assert.deepEqual(refusal("old"), [
      "TGLENS_BAD_REQUEST",
      '"old" matches 2 chats: Old friend [42], Old colleagues [43]; give the id or more of the name',
    ]);
    const many = Array.from({ length: 12 }, (_, i) => row(String(i), `Team ${i}`));
    assert.match(refusal("team", many)[1]!, /^"team" matches 12 chats: Team 0 \[0\], .*Team 9 \[9\], and 2 more; give the id/);
  });
});
