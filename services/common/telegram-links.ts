/**
 * "Open in Telegram": the t.me link of a stored message, from its chat's id, type and username alone
 * (one pure function, used by every answer that carries messages). Telegram links messages of
 * supergroups and channels only: t.me/<username>/<id> for a public one, t.me/c/<internal id>/<id>
 * for any (members can open it). Private chats, bot chats, saved messages and basic groups have no
 * message links, so their messages get null and linkNote() says why.
 */

/** The chat types of Telegram Desktop exports, which live reading maps to as well (DESIGN §7). */
export const CHAT_TYPES = [
  "personal_chat",
  "bot_chat",
  "saved_messages",
  "private_group",
  "private_supergroup",
  "public_supergroup",
  "private_channel",
  "public_channel",
] as const;

export interface LinkableChat {
  chat_id: string;
  type: string;
  /** The public @username (without @), when known. */
  username?: string | null;
}

/** Telegram usernames: 4–32 characters, letters, digits and underscores, starting with a letter. */
const USERNAME = /^[A-Za-z][A-Za-z0-9_]{3,31}$/;
/** The Bot API writes a channel's id as -(10^12 + id): "-1001234567890" for channel 1234567890. */
const BOT_API_CHANNEL_OFFSET = 10n ** 12n;

const isChannelLike = (type: string) => /^(?:private|public)_(?:supergroup|channel)$/.test(type);

/**
 * The id t.me/c/ links use for a supergroup or channel: the bare id as exports (and tglens's live
 * reading) store it, or, for an id in the Bot API's form, that id without its -100 prefix. Null for
 * anything else (a basic group's negative Bot API id).
 */
export function internalChannelId(chatId: string): string | null {
  if (/^[1-9]\d{0,19}$/.test(chatId)) return chatId;
  if (!/^-100\d+$/.test(chatId)) return null;
  const id = -BigInt(chatId) - BOT_API_CHANNEL_OFFSET;
  return id > 0n ? id.toString() : null;
}

/** Why the chat's messages have no link, or null when they have one (negative ids aside: see messageLink). */
export function linkNote(chat: LinkableChat): string | null {
  switch (chat.type) {
    case "personal_chat":
    case "bot_chat":
    case "saved_messages":
      return "Telegram has no links to messages of private chats";
    case "private_group":
      return "Telegram has no links to messages of basic groups (only of supergroups and channels)";
  }
  if (!isChannelLike(chat.type)) return `Telegram links messages of supergroups and channels only; this chat's type is ${chat.type}`;
  if (internalChannelId(chat.chat_id) === null && !usernameOf(chat)) return `the chat id ${chat.chat_id} is not a channel's id`;
  return null;
}

const usernameOf = (chat: LinkableChat) => (chat.username && USERNAME.test(chat.username) ? chat.username : undefined);

/**
 * The message's t.me link, or null (linkNote says why). Negative ids (messages from before a group
 * became a supergroup) stayed with the old group, which has no links: null too.
 */
export function messageLink(chat: LinkableChat, messageId: number): string | null {
  if (!Number.isSafeInteger(messageId) || messageId < 1 || linkNote(chat) !== null) return null;
  const username = usernameOf(chat);
  if (username) return `https://t.me/${username}/${messageId}`;
  return `https://t.me/c/${internalChannelId(chat.chat_id)}/${messageId}`;
}
