/**
 * From what a person typed to the chat Telegram knows. A username (or t.me link) is resolved by
 * Telegram. A numeric id is looked up among the account's own chats (dialogs): a session holds no
 * access hashes, and without one Telegram will not open a channel or user by id — and a chat the
 * account is not in could not be read anyway. Ids match as exports write them (bare: 1234567890
 * for a user, basic group, supergroup or channel) and in the Bot API's marked form
 * (-1001234567890 for a supergroup or channel, -123 for a basic group).
 */
import { Api } from "telegram";
import { TglensError } from "../../common/errors.ts";
import type { ChatRef } from "../../common/schemas.ts";
import { formatChatInput, type ChatInput } from "./chat-input.ts";
import type { Entity, TelegramReader } from "./client.ts";
import { chatRefFromEntity } from "./gramjs-mapping.ts";

export interface ResolvedChat {
  entity: Entity;
  chat: ChatRef;
}

/** Calls Telegram with FloodWait handled and errors translated (see live-scrape.ts). */
export type TelegramCall = <T>(doing: string, call: () => Promise<T>) => Promise<T>;

const MARKED_CHANNEL = /^-100(\d+)$/;

/** Whether an entity is the chat a numeric id names. */
export function entityMatchesId(entity: Entity, id: string): boolean {
  const channel = MARKED_CHANNEL.exec(id)?.[1];
  if (channel !== undefined) return (entity instanceof Api.Channel || entity instanceof Api.ChannelForbidden) && entity.id.toString() === channel;
  if (id.startsWith("-")) return (entity instanceof Api.Chat || entity instanceof Api.ChatForbidden) && entity.id.toString() === id.slice(1);
  return (entity instanceof Api.User || entity instanceof Api.Chat || entity instanceof Api.Channel) && entity.id.toString() === id;
}

function notFound(label: string, why: string): TglensError {
  return new TglensError("TGLENS_CHAT_NOT_FOUND", `no chat ${label}: ${why}`, { details: { chat: label } });
}

export async function resolveChat(client: TelegramReader, input: ChatInput, call: TelegramCall): Promise<ResolvedChat> {
  const label = formatChatInput(input);
  let entity: Entity | undefined;
  if (input.kind === "username") {
    entity = await call(`resolving ${label}`, () => client.getEntity(input.username));
  } else {
    entity = await call(`looking for chat ${label} among this account's chats`, async () => {
      for await (const dialog of client.iterDialogs({})) if (dialog.entity && entityMatchesId(dialog.entity, input.id)) return dialog.entity;
      return undefined;
    });
    if (!entity) throw notFound(label, "it is not among this account's chats (a public chat can be named by its @username or t.me link)");
  }
  if (entity instanceof Api.ChatForbidden || entity instanceof Api.ChannelForbidden)
    throw notFound(label, "this account may not read it any more (removed or banned)");
  if (entity instanceof Api.UserEmpty || entity instanceof Api.ChatEmpty) throw notFound(label, "Telegram knows no such chat");
  return { entity, chat: chatRefFromEntity(entity) };
}
