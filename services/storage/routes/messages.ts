/**
 * GET /chats/:id/messages: a chat's messages in chat order (date, then message id), to read a
 * message in its context (`around`) or to browse from a date (`from`), with paging cursors so a
 * page can load more up and down. The pages come from Storage.messagesAround / messagesFrom.
 */
import { Type, type Static } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { parseOptionalTimeBound } from "../../common/dates.ts";
import { TglensError } from "../../common/errors.ts";
import { errorBody } from "../../common/http.ts";
import { MAX_ABS_MESSAGE_ID } from "../../common/schemas.ts";
import { linkNote } from "../../common/telegram-links.ts";
import type { MessagePage, Storage, StoredMessage } from "../types.ts";
import { ChatParams, iso, MessageFields, messageFields, nullable } from "./shapes.ts";

/** Messages on each side of `around` unless asked; and most that may be asked for. */
export const CONTEXT_DEFAULT = 10;
export const PAGE_MAX = 100;
/** Messages from a date unless asked. */
export const LIMIT_DEFAULT = 50;

export const MessagesQuery = Type.Object(
  {
    around: Type.Optional(
      Type.Integer({
        minimum: -MAX_ABS_MESSAGE_ID,
        maximum: MAX_ABS_MESSAGE_ID,
        description: "Read this message (its id) in its context: the messages before and after it, what they reply to, the replies to it",
      }),
    ),
    before: Type.Optional(
      Type.Integer({ minimum: 0, maximum: PAGE_MAX, description: `With around: messages before it (default ${CONTEXT_DEFAULT})` }),
    ),
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: PAGE_MAX, description: `With around: messages after it (default ${CONTEXT_DEFAULT})` })),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Browse from this date: unix seconds, or an ISO 8601 date (YYYY-MM-DD: from the start of that day; UTC unless a zone is given). " +
          "Without around and from, from the chat's first message",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, description: `With from: how many messages (default ${LIMIT_DEFAULT})` })),
  },
  { additionalProperties: false },
);
type MessagesQuery = Static<typeof MessagesQuery>;

export const ChatMessageSchema = Type.Object({
  ...MessageFields,
  reply_to: nullable(Type.Integer(), "The id of the message this one replies to"),
  forwarded_from: nullable(Type.String()),
  edited: nullable(Type.String(), "ISO 8601, UTC: when the message was last edited"),
  media: nullable(Type.String(), "photo, video_file, voice_message, sticker, document, ... or null for plain text"),
  is_target: Type.Boolean({ description: "true for the message asked for with around, and only for it" }),
});

const Cursor = (side: "before" | "after", edge: "first" | "last", load: string) =>
  Type.Object(
    {
      message_id: nullable(Type.Integer(), `The ${edge} message of \`messages\` (null when it is empty)`),
      more: Type.Boolean({ description: `Whether the chat has messages ${side} it` }),
    },
    { description: `Paging ${side === "before" ? "up" : "down"}: ${load}` },
  );

export const MessagesAnswer = Type.Object(
  {
    chat: Type.Object({
      chat_id: Type.String(),
      name: Type.String(),
      type: Type.String(),
      username: nullable(Type.String(), "Public @username (without @), or null"),
      link_note: nullable(Type.String(), "Why the chat's messages have no link (private chats, basic groups), or null when they have"),
    }),
    target: nullable(Type.Integer(), "The message asked for with around (also marked is_target), or null"),
    messages: Type.Array(ChatMessageSchema, { description: "In chat order: by date, then by message id" }),
    replied_to: Type.Array(ChatMessageSchema, { description: "The messages that those in `messages` reply to, when not among them" }),
    replies: Type.Array(ChatMessageSchema, { description: "With around: the first 100 replies to the target that are not in `messages`" }),
    before: Cursor("before", "first", "?around=<before.message_id>&before=N&after=0 (that message comes back too, as target)"),
    after: Cursor("after", "last", "?around=<after.message_id>&before=0&after=N (that message comes back too, as target)"),
  },
  { description: "A run of the chat's messages, the message asked for marked" },
);
type MessagesAnswer = Static<typeof MessagesAnswer>;

function refuse(message: string, field: string): TglensError {
  return new TglensError("TGLENS_BAD_REQUEST", message, { details: { field } });
}

/** The parameters of one way to ask, never of the other. */
function checkCombination(q: MessagesQuery): void {
  if (q.around !== undefined && q.from !== undefined) {
    throw refuse(
      "querystring.around and querystring.from cannot be used together: around reads a message in its context, from browses from a date",
      "from",
    );
  }
  if (q.around === undefined) {
    const stray = (["before", "after"] as const).find((k) => q[k] !== undefined);
    if (stray) throw refuse(`querystring.${stray} goes with around=<message id>; to browse from a date, give from and limit`, stray);
  } else if (q.limit !== undefined) {
    throw refuse("querystring.limit goes with from=<date>; around a message, give before and after", "limit");
  }
}

function pageJson(page: MessagePage, target: number | null): MessagesAnswer {
  const message = (m: StoredMessage) => ({
    ...messageFields(m),
    reply_to: m.reply_to,
    forwarded_from: m.forwarded_from,
    edited: iso(m.edited),
    media: m.media,
    is_target: m.message_id === target,
  });
  const { messages } = page;
  return {
    chat: { ...page.chat, link_note: linkNote(page.chat) },
    target,
    messages: messages.map(message),
    replied_to: page.replied_to.map(message),
    replies: page.replies.map(message),
    before: { message_id: messages[0]?.message_id ?? null, more: page.more_before },
    after: { message_id: messages.at(-1)?.message_id ?? null, more: page.more_after },
  };
}

export function registerMessageRoutes(app: FastifyInstance, storage: Storage): void {
  app.get(
    "/chats/:id/messages",
    {
      schema: {
        summary: "A chat's messages: around one message (its context), or from a date",
        description:
          "around=<message id>&before=&after= gives the message, the messages before and after it, what they reply to and the replies " +
          `to it; from=<date>&limit= the first messages at or after the date. At most ${PAGE_MAX} on each side or in all; ` +
          "around and from together are 400, and so are before/after with from and limit with around.",
        tags: ["storage"],
        params: ChatParams,
        querystring: MessagesQuery,
        response: { 200: MessagesAnswer, 400: { $ref: "ErrorResponse#" }, 404: { $ref: "ErrorResponse#" } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof ChatParams>;
      const q = req.query as MessagesQuery;
      checkCombination(q);
      const noChat = () => reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no chat ${id}`));
      if (q.around !== undefined) {
        const page = await storage.messagesAround(id, q.around, { before: q.before ?? CONTEXT_DEFAULT, after: q.after ?? CONTEXT_DEFAULT });
        if (page) return pageJson(page, q.around);
        if (!(await storage.chat(id))) return noChat();
        return reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no message ${q.around} in chat ${id}`));
      }
      const from = parseOptionalTimeBound("querystring.from", q.from, "from") ?? 0;
      const page = await storage.messagesFrom(id, from, q.limit ?? LIMIT_DEFAULT);
      return page ? pageJson(page, null) : noChat();
    },
  );
}
