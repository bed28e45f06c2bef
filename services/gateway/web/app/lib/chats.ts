/**
 * Chats by name: the chat filter takes what people know (a chat's name, any case, or a part of it
 * that only one chat has) and the search asks by id. Two chats may share a name; then the name
 * is ambiguous and the id tells them apart.
 */
import type { ChatSummary } from "../../../api/client.ts";

export type ChatMatch = { chat: ChatSummary; problem?: undefined } | { chat?: undefined; problem: string };

export function findChat(chats: readonly ChatSummary[], text: string): ChatMatch {
  const wanted = text.trim().toLocaleLowerCase();
  const byId = chats.find((c) => c.chat_id === text.trim());
  if (byId) return { chat: byId };
  const named = chats.filter((c) => c.name.toLocaleLowerCase() === wanted);
  const candidates = named.length > 0 ? named : chats.filter((c) => c.name.toLocaleLowerCase().includes(wanted));
  if (candidates.length === 1) return { chat: candidates[0]! };
  if (candidates.length === 0) return { problem: `No chat is called “${text.trim()}”.` };
  return { problem: `${candidates.length} chats match “${text.trim()}”: type more of the name, or the chat's id.` };
}

/** What the chat filter shows for a chat id: its name when that names one chat, else its id. */
export function chatLabel(chats: readonly ChatSummary[], chatId: string): string {
  const chat = chats.find((c) => c.chat_id === chatId);
  if (!chat) return chatId;
  return chats.filter((c) => c.name === chat.name).length === 1 ? chat.name : chat.chat_id;
}
