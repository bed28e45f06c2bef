/**
 * What storage's HTTP routes share: the chat id path parameter, dates in ISO 8601 (UTC), and how a
 * stored message is shown, with its "Open in Telegram" link (common/telegram-links.ts). Search
 * results and pages of a chat's messages carry the same message fields, so a page shows both alike.
 */
import { Type } from "@sinclair/typebox";
import { ChatRef } from "../../common/schemas.ts";
import { messageLink } from "../../common/telegram-links.ts";
import type { StoredMessage } from "../types.ts";

export const ChatParams = Type.Object({ id: ChatRef.properties.id });

export const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T, description?: string) =>
  Type.Union([t, Type.Null()], description === undefined ? {} : { description });

/** Fields of every message in an answer. */
export const MessageFields = {
  message_id: Type.Integer(),
  date: Type.String({ description: "ISO 8601, UTC" }),
  sender: nullable(Type.String()),
  sender_id: nullable(Type.String()),
  text: Type.String({ description: "The original text" }),
  lang: Type.String(),
  link: nullable(
    Type.String(),
    "Open in Telegram: https://t.me/<username>/<id> for a public supergroup or channel whose username is known, " +
      "https://t.me/c/<internal id>/<id> for any other supergroup or channel (members can open it); null for private chats, " +
      "bot chats, saved messages, basic groups and messages from before a group became a supergroup (negative ids)",
  ),
};

export function messageFields(m: StoredMessage) {
  return {
    message_id: m.message_id,
    date: iso(m.date)!,
    sender: m.sender,
    sender_id: m.sender_id,
    text: m.text,
    lang: m.lang,
    link: messageLink({ chat_id: m.chat_id, type: m.chat_type, username: m.chat_username }, m.message_id),
  };
}
