/**
 * What a person may type to name a chat for live reading, parsed once at the HTTP edge:
 *   @username, username, https://t.me/name, t.me/name, t.me/name/123 (a message link: its chat),
 *   t.me/s/name (a channel's web preview), t.me/c/1234567890/55 (a private message link),
 *   tg://resolve?domain=name, -1001234567890 (Bot API form), 1234567890 (as exports write it).
 * Private invite links (t.me/+hash, t.me/joinchat/hash) are refused: reading through one would mean
 * joining the chat, which tglens never does on its own.
 */
import { TglensError } from "../../common/errors.ts";

export type ChatInput = { kind: "username"; username: string } | { kind: "id"; id: string };

/** Telegram usernames: 4–32 characters, letters, digits and underscores, starting with a letter. */
const USERNAME = /^[A-Za-z][A-Za-z0-9_]{3,31}$/;
/** A decimal id, possibly in the Bot API's marked form (negative; -100… for channels). */
const NUMERIC_ID = /^-?[1-9]\d{0,19}$/;
const TME_HOST = /^(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)$/i;

function badChat(value: string, why: string): TglensError {
  return new TglensError("TGLENS_BAD_REQUEST", `body.chat ${why} (got ${JSON.stringify(value.slice(0, 100))})`, { details: { field: "chat" } });
}

const EXPECTED = "must be @username, a t.me link or a numeric chat id";

function fromUsername(name: string, original: string): ChatInput {
  if (!USERNAME.test(name)) throw badChat(original, EXPECTED);
  return { kind: "username", username: name };
}

/** The chat named by a t.me path: "name", "name/123", "s/name", "c/1234567890/55". */
function fromTmePath(pathname: string, original: string): ChatInput {
  const parts = pathname.split("/").filter(Boolean);
  const [first, second] = parts;
  if (first === undefined) throw badChat(original, EXPECTED);
  if (first.startsWith("+") || first === "joinchat") {
    throw badChat(
      original,
      "is a private invite link, which live reading does not support: join the chat in Telegram, then name it by its id or @username",
    );
  }
  if (first === "c" && second !== undefined && /^[1-9]\d{0,19}$/.test(second)) return { kind: "id", id: `-100${second}` };
  if (first === "s" && second !== undefined) return fromUsername(second, original);
  return fromUsername(first, original);
}

/** Parses a chat reference; anything else is TGLENS_BAD_REQUEST naming the field `chat`. */
export function parseChatInput(value: unknown): ChatInput {
  if (typeof value !== "string" || value.trim() === "") throw badChat(String(value ?? ""), `${EXPECTED}, as a non-empty string`);
  const text = value.trim();
  if (NUMERIC_ID.test(text)) return { kind: "id", id: text };
  if (text.startsWith("@")) return fromUsername(text.slice(1), text);
  if (/^tg:/i.test(text)) {
    const domain = /^tg:\/\/resolve\?(?:.*&)?domain=([^&#]+)/i.exec(text)?.[1];
    if (domain === undefined) throw badChat(text, EXPECTED);
    return fromUsername(domain, text);
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    url = undefined;
  }
  if (url && TME_HOST.test(url.hostname) && (url.protocol === "https:" || url.protocol === "http:")) return fromTmePath(url.pathname, text);
  if (!text.includes("/") && !text.includes(".")) return fromUsername(text, text);
  throw badChat(text, EXPECTED);
}

/** The canonical text of a parsed chat ("@name" or the id): what scrape-topic carries and jobs show. */
export function formatChatInput(input: ChatInput): string {
  return input.kind === "username" ? `@${input.username}` : input.id;
}
