/**
 * Pages of one chat's messages in chat order (date, then message id): a message with its neighbours
 * (reading a search hit in its context) or the messages from a date (browsing), each with the
 * messages they reply to and, around a message, the replies to it. One snapshot of the store per
 * page; every message appears in a page once (types.ts, MessagePage).
 */
import { DEFAULTS } from "./defaults.ts";
import { validCount, validDate, validMessageId } from "./input.ts";
import type { MessageStore } from "./message-store.ts";
import type { ChatInfo, MessagePage, MessageSpan, StoredMessage } from "./types.ts";

function chatInfo(store: MessageStore, chatId: string): ChatInfo | undefined {
  const row = store.getChat(chatId);
  return row && { chat_id: row.chat_id, name: row.name, type: row.type, username: row.username };
}

/** The stored messages that `messages` reply to, leaving out those in it. */
function repliedTo(store: MessageStore, chatId: string, messages: readonly StoredMessage[]): StoredMessage[] {
  const inPage = new Set(messages.map((m) => m.message_id));
  const ids = new Set(messages.flatMap((m) => (m.reply_to === null || inPage.has(m.reply_to) ? [] : [m.reply_to])));
  return store.messagesByIds(chatId, [...ids]);
}

export function messagesAround(store: MessageStore, chatId: string, messageId: number, span: MessageSpan): MessagePage | undefined {
  const id = validMessageId(messageId);
  const before = validCount("before", span?.before, 0);
  const after = validCount("after", span?.after, 0);
  return store.snapshot(() => {
    const chat = chatInfo(store, chatId);
    const target = chat && store.storedMessage(chatId, id);
    if (!chat || !target) return undefined;
    // One more on each side than asked: whether it exists says if there is more.
    const older = store.messagesBeside(chatId, target, "before", before + 1);
    const newer = store.messagesBeside(chatId, target, "after", after + 1);
    const messages = [...older.slice(older.length - before), target, ...newer.slice(0, after)];
    return {
      chat,
      messages,
      replied_to: repliedTo(store, chatId, messages),
      replies: store.repliesOutside(chatId, id, { first: messages[0]!, last: messages.at(-1)! }, DEFAULTS.maxReplies),
      more_before: older.length > before,
      more_after: newer.length > after,
    };
  });
}

export function messagesFrom(store: MessageStore, chatId: string, from: number, limit: number): MessagePage | undefined {
  const since = validDate("from", from);
  const want = validCount("limit", limit, 1);
  return store.snapshot(() => {
    const chat = chatInfo(store, chatId);
    if (!chat) return undefined;
    const page = store.messagesFrom(chatId, since, want + 1);
    const messages = page.slice(0, want);
    return {
      chat,
      messages,
      replied_to: repliedTo(store, chatId, messages),
      replies: [],
      // Every message before the first of the page is dated before `from`.
      more_before: store.hasMessagesBefore(chatId, since),
      more_after: page.length > want,
    };
  });
}
