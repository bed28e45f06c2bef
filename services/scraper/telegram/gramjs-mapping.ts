/**
 * GramJS objects in the shape of a Telegram Desktop export, so that a live message becomes a raw
 * record through the very function an export's message goes through (`exportMessageToRaw`): one
 * mapping, whatever the source. This module only translates, keeping the export's conventions
 * (bare chat ids, "user123" sender ids, placeholders for files) so a chat read live and from an
 * export is one chat. The conventions: docs/architecture.md ("Live reading: session, mapping, pages").
 */
import { Api, utils } from "telegram";
import type { ChatRef } from "../../common/schemas.ts";
import { chatRefFromExport, exportMessageToRaw, type MappedMessage } from "../export-mapping.ts";
import type { Entity } from "./client.ts";

type ExportRecord = Record<string, unknown>;

/** What a message alone does not say. */
export interface GramjsContext {
  /** The logged-in user: Telegram leaves `from_id` out of our own messages in private chats. */
  self?: Api.User | undefined;
}

/** Telegram Desktop's placeholder for a file an export did not download. */
export const FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)";

/** GramJS entity class → the export's `type` of a text entity. */
const ENTITY_TYPES: Record<string, string> = {
  MessageEntityUnknown: "unknown",
  MessageEntityMention: "mention",
  MessageEntityHashtag: "hashtag",
  MessageEntityBotCommand: "bot_command",
  MessageEntityUrl: "link",
  MessageEntityEmail: "email",
  MessageEntityBold: "bold",
  MessageEntityItalic: "italic",
  MessageEntityCode: "code",
  MessageEntityPre: "pre",
  MessageEntityTextUrl: "text_link",
  MessageEntityMentionName: "mention_name",
  MessageEntityPhone: "phone",
  MessageEntityCashtag: "cashtag",
  MessageEntityUnderline: "underline",
  MessageEntityStrike: "strikethrough",
  MessageEntityBlockquote: "blockquote",
  MessageEntityBankCard: "bank_card",
  MessageEntitySpoiler: "spoiler",
  MessageEntityCustomEmoji: "custom_emoji",
};

/**
 * Text with entities as an export writes it: the plain string when there are none, otherwise an
 * array of plain strings and `{type, text, href?, user_id?}` objects. Telegram allows nested
 * entities (bold inside a link); an export part cannot nest, so each character goes to one part:
 * text links first (their href must survive), then the other entities where they do not overlap.
 * Offsets are UTF-16 code units, as JavaScript strings count.
 */
export function exportText(text: string, entities: readonly Api.TypeMessageEntity[] | undefined): string | (string | ExportRecord)[] {
  if (!entities || entities.length === 0) return text;
  const chosen: Api.TypeMessageEntity[] = [];
  const overlaps = (e: Api.TypeMessageEntity) => chosen.some((c) => e.offset < c.offset + c.length && c.offset < e.offset + e.length);
  const ranked = [...entities].sort((a, b) => Number(b instanceof Api.MessageEntityTextUrl) - Number(a instanceof Api.MessageEntityTextUrl));
  for (const e of ranked) if (e.length > 0 && e.offset >= 0 && e.offset < text.length && !overlaps(e)) chosen.push(e);
  chosen.sort((a, b) => a.offset - b.offset);
  const parts: (string | ExportRecord)[] = [];
  let at = 0;
  for (const e of chosen) {
    if (e.offset > at) parts.push(text.slice(at, e.offset));
    const part: ExportRecord = { type: ENTITY_TYPES[e.className] ?? "unknown", text: text.slice(e.offset, e.offset + e.length) };
    if (e instanceof Api.MessageEntityTextUrl) part.href = e.url;
    if (e instanceof Api.MessageEntityMentionName) part.user_id = Number(e.userId.toString());
    parts.push(part);
    at = e.offset + e.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

function textWithEntities(value: Api.TypeTextWithEntities | string | undefined): string | (string | ExportRecord)[] {
  if (typeof value === "string") return value;
  if (value instanceof Api.TextWithEntities) return exportText(value.text, value.entities);
  return "";
}

/** "user123" / "chat123" / "channel123", as exports write `from_id`. */
export function exportPeerId(peer: Api.TypePeer): string {
  if (peer instanceof Api.PeerUser) return `user${peer.userId.toString()}`;
  if (peer instanceof Api.PeerChat) return `chat${peer.chatId.toString()}`;
  return `channel${peer.channelId.toString()}`;
}

/** A person's or chat's name as an export shows it; null for a deleted account or an unknown peer. */
export function displayName(entity: Entity | undefined): string | null {
  if (entity instanceof Api.User) {
    if (entity.deleted) return null;
    const name = [entity.firstName, entity.lastName].filter(Boolean).join(" ").trim();
    return name === "" ? null : name;
  }
  if (entity instanceof Api.Chat || entity instanceof Api.Channel || entity instanceof Api.ChatForbidden || entity instanceof Api.ChannelForbidden)
    return entity.title;
  return null;
}

/** The entity behind a peer, from the users and chats that came with the messages (GramJS sets `_entities`). */
function entityOf(message: Api.Message, peer: Api.TypePeer, ctx: GramjsContext): Entity | undefined {
  const found = message._entities?.get(utils.getPeerId(peer));
  if (found) return found;
  if (ctx.self && peer instanceof Api.PeerUser && peer.userId.equals(ctx.self.id)) return ctx.self;
  return undefined;
}

/**
 * Who sent a message, as GramJS decides it (`Message.senderId`) plus our own messages: `from_id`
 * when Telegram gives it; otherwise a channel post is from the channel, an incoming private message
 * from the other person, an outgoing one from us.
 */
function senderPeer(message: Api.Message, ctx: GramjsContext): Api.TypePeer | undefined {
  if (message.fromId) return message.fromId;
  const peer = message.peerId;
  if (message.post || peer instanceof Api.PeerChannel) return peer;
  if (peer instanceof Api.PeerUser) return message.out ? (ctx.self ? new Api.PeerUser({ userId: ctx.self.id }) : undefined) : peer;
  return undefined;
}

function documentFields(media: Api.MessageMediaDocument): ExportRecord {
  const fields: ExportRecord = { file: FILE_NOT_INCLUDED };
  const doc = media.document;
  if (!(doc instanceof Api.Document)) return fields;
  fields.mime_type = doc.mimeType;
  let kind: string | undefined;
  for (const attr of doc.attributes) {
    // A video sticker also has a video attribute, and a GIF is an animated video: the first wins.
    if (attr instanceof Api.DocumentAttributeSticker) {
      kind = "sticker";
      fields.sticker_emoji = attr.alt;
    } else if (attr instanceof Api.DocumentAttributeAnimated && kind !== "sticker") kind = "animation";
    else if (attr instanceof Api.DocumentAttributeVideo && kind === undefined) kind = attr.roundMessage ? "video_message" : "video_file";
    else if (attr instanceof Api.DocumentAttributeAudio && kind === undefined) kind = attr.voice ? "voice_message" : "audio_file";
    else if (attr instanceof Api.DocumentAttributeFilename) fields.file_name = attr.fileName;
  }
  if (kind !== undefined) fields.media_type = kind;
  return fields;
}

function location(geo: Api.TypeGeoPoint): ExportRecord {
  return geo instanceof Api.GeoPoint ? { latitude: geo.lat, longitude: geo.long } : {};
}

/** The export's media fields for a message's media; {} for kinds exports do not name (link previews and the like). */
export function exportMediaFields(media: Api.TypeMessageMedia | undefined): ExportRecord {
  if (media instanceof Api.MessageMediaPhoto) return { photo: FILE_NOT_INCLUDED };
  if (media instanceof Api.MessageMediaDocument) return documentFields(media);
  if (media instanceof Api.MessageMediaPoll) {
    const poll = media.poll as Api.Poll;
    const results = media.results instanceof Api.PollResults ? media.results : undefined;
    return {
      poll: {
        question: textWithEntities(poll.question),
        closed: Boolean(poll.closed),
        total_voters: results?.totalVoters ?? 0,
        answers: poll.answers.map((answer) => {
          const votes = results?.results?.find((r) => r.option.equals(answer.option));
          return { text: textWithEntities(answer.text), voters: votes?.voters ?? 0, chosen: Boolean(votes?.chosen) };
        }),
      },
    };
  }
  if (media instanceof Api.MessageMediaVenue) return { place_name: media.title, address: media.address, location_information: location(media.geo) };
  if (media instanceof Api.MessageMediaGeoLive) return { location_information: location(media.geo), live_location_period_seconds: media.period };
  if (media instanceof Api.MessageMediaGeo) return { location_information: location(media.geo) };
  if (media instanceof Api.MessageMediaContact)
    return { contact_information: { first_name: media.firstName, last_name: media.lastName, phone_number: media.phoneNumber } };
  if (media instanceof Api.MessageMediaGame) return { game_title: media.game.title };
  if (media instanceof Api.MessageMediaInvoice) {
    return {
      invoice_information: {
        title: media.title,
        description: media.description,
        amount: Number(media.totalAmount.toString()),
        currency: media.currency,
      },
    };
  }
  return {};
}

/** A GramJS message as the object a Telegram Desktop export would hold for it. */
export function gramjsMessageToExport(message: Api.TypeMessage, ctx: GramjsContext = {}): ExportRecord {
  if (message instanceof Api.MessageService)
    return { id: message.id, type: "service", date_unixtime: String(message.date), action: message.action.className, text: "" };
  if (!(message instanceof Api.Message)) return { id: message.id, type: "unsupported" };
  const record: ExportRecord = { id: message.id, type: "message", date_unixtime: String(message.date) };
  // editHide: Telegram changed the message itself (e.g. a bot's buttons) and does not show it as edited.
  if (message.editDate && !message.editHide) record.edited_unixtime = String(message.editDate);
  const sender = senderPeer(message, ctx);
  if (sender) {
    record.from = displayName(entityOf(message, sender, ctx));
    record.from_id = exportPeerId(sender);
  }
  const reply = message.replyTo;
  // A reply to a message of another chat names a message that is not in this one.
  if (reply instanceof Api.MessageReplyHeader && reply.replyToMsgId !== undefined && reply.replyToPeerId === undefined)
    record.reply_to_message_id = reply.replyToMsgId;
  const fwd = message.fwdFrom;
  if (fwd) record.forwarded_from = fwd.fromName ?? (fwd.fromId ? displayName(entityOf(message, fwd.fromId, ctx)) : null);
  Object.assign(record, exportMediaFields(message.media));
  record.text = exportText(message.message ?? "", message.entities);
  return record;
}

/** A GramJS message as a raw record, or why it is skipped: through the export mapping. */
export function gramjsMessageToRaw(message: Api.TypeMessage, chat: ChatRef, jobId: string, ctx: GramjsContext = {}): MappedMessage {
  return exportMessageToRaw(gramjsMessageToExport(message, ctx), chat, jobId, () => `Telegram message ${message.id} of chat ${chat.id}`);
}

/** The public username of a user or chat, if it has one. */
export function entityUsername(entity: Entity): string | undefined {
  if (!(entity instanceof Api.User || entity instanceof Api.Channel)) return undefined;
  return entity.username ?? entity.usernames?.find((u) => u instanceof Api.Username && u.active)?.username;
}

/** The export's chat object (bare id, name, type in the export's vocabulary) for an entity. */
export function exportChatOf(entity: Entity): ExportRecord {
  if (entity instanceof Api.User) {
    const type = entity.self ? "saved_messages" : entity.bot ? "bot_chat" : "personal_chat";
    return { id: entity.id.toString(), type, ...(entity.self ? {} : { name: displayName(entity) }) };
  }
  if (entity instanceof Api.Chat || entity instanceof Api.ChatForbidden)
    return { id: entity.id.toString(), type: "private_group", name: entity.title };
  if (entity instanceof Api.Channel || entity instanceof Api.ChannelForbidden) {
    const isPublic = entity instanceof Api.Channel && entityUsername(entity) !== undefined;
    const kind = entity.megagroup || (entity instanceof Api.Channel && entity.gigagroup) ? "supergroup" : "channel";
    return { id: entity.id.toString(), type: `${isPublic ? "public" : "private"}_${kind}`, name: entity.title };
  }
  return { id: entity.id.toString(), type: "unknown" };
}

/** The ChatRef of an entity, through the export's chat mapping, with its username when public. */
export function chatRefFromEntity(entity: Entity): ChatRef {
  const chat = chatRefFromExport(exportChatOf(entity));
  const username = entityUsername(entity);
  return username ? { ...chat, username } : chat;
}
