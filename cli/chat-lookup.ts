/**
 * The chat a CLI argument names (`--chat`, `stats`, `forget`), found among the indexed chats the
 * way the bot finds it (services/common/chat-match.ts). An unknown chat is an error that says so,
 * and an ambiguous one lists the candidates: a search never runs on a chat that is not there.
 */
import { matchChat } from "../services/common/chat-match.ts";
import { TglensError } from "../services/common/errors.ts";
import type { ChatSummary } from "../services/gateway/api/client.ts";

/** Candidates listed when a name is ambiguous; the rest are counted. */
const SHOWN = 10;

const label = (c: ChatSummary) => `${c.name}${c.username ? ` (@${c.username})` : ""} [${c.chat_id}]`;

export function resolveChat(input: string, chats: readonly ChatSummary[]): ChatSummary {
  if (input.trim() === "")
    throw new TglensError("TGLENS_BAD_REQUEST", "the chat is empty: give its id, @username or name (`tglens chats` lists them)");
  const match = matchChat(input, chats);
  if ("chat" in match) return match.chat;
  if ("none" in match) {
    throw new TglensError("TGLENS_NOT_FOUND", `no indexed chat matches ${JSON.stringify(input)} (\`tglens chats\` lists them)`);
  }
  const shown = match.several.slice(0, SHOWN).map(label).join(", ");
  const more = match.several.length > SHOWN ? `, and ${match.several.length - SHOWN} more` : "";
  throw new TglensError(
    "TGLENS_BAD_REQUEST",
    `${JSON.stringify(input)} matches ${match.several.length} chats: ${shown}${more}; give the id or more of the name`,
  );
}
