/**
 * The storage service: consumes store-topic into SQLite and the per-chat vector indexes, and
 * answers searches (each result with its Telegram link) and pages of a chat's messages (routes/). Semantic
 * search embeds the query through the embedder service's HTTP API.
 * A forget on control-topic removes a chat's rows, vectors and index files — storage's part only;
 * the other services forget theirs (common/forget.ts).
 */
import { Type } from "@sinclair/typebox";
import { Counter } from "prom-client";
import type { Bus, Delivery } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { assertChatId } from "../common/data-files.ts";
import { callJson } from "../common/http-client.ts";
import { TglensError } from "../common/errors.ts";
import { followForgets, type Removed } from "../common/forget.ts";
import { createHttpApp, errorBody, strictBodyValidator } from "../common/http.ts";
import { reportMessages } from "../common/jobs.ts";
import type { Logger } from "../common/logger.ts";
import { EmbeddedMessage } from "../common/schemas.ts";
import { busService, TGLENS_VERSION, type Service } from "../common/service.ts";
import { parseOptionalTimeBound } from "../common/dates.ts";
import { preprocess } from "../preprocessor/clean.ts";
import { buildFtsQuery } from "./fts-query.ts";
import { registerMessageRoutes } from "./routes/messages.ts";
import { ChatParams, iso, MessageFields, messageFields } from "./routes/shapes.ts";
import type { ChatSummary, SearchFilters, SearchHit, Storage } from "./types.ts";

/** Turns a query into a vector (the embedder service, over HTTP). */
export interface QueryEmbedder {
  embed(text: string): Promise<Float32Array>;
  ready(): Promise<boolean | string>;
}

export interface StorageServiceDeps {
  bus: Bus;
  storage: Storage;
  queryEmbedder: QueryEmbedder;
  log: Logger;
  config: Pick<Config, "maxBodyBytes"> & Partial<Pick<Config, "access">>;
}

export const SEARCH_MODES = ["semantic", "keyword", "hybrid"] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 2000, description: "What to look for" }),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: "How many results" })),
    chat: Type.Optional(Type.String({ pattern: "^-?[0-9]{1,20}$", description: "Only this chat (id)" })),
    sender: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Only this sender (name or id such as user123)" })),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Not before: unix seconds, or an ISO 8601 date (YYYY-MM-DD: from the start of that day; UTC unless a zone is given)",
      }),
    ),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Not after: unix seconds, or an ISO 8601 date (YYYY-MM-DD: to the end of that day, inclusive; UTC unless a zone is given)",
      }),
    ),
    mode: Type.Optional(
      Type.Union(
        SEARCH_MODES.map((m) => Type.Literal(m)),
        { default: "semantic" },
      ),
    ),
  },
  { additionalProperties: false },
);

export const SearchResult = Type.Object({
  chat_id: Type.String(),
  chat_name: Type.String(),
  chat_username: Type.Union([Type.String(), Type.Null()], { description: "The chat's public @username (without @), or null" }),
  ...MessageFields,
  score: Type.Number({ description: "semantic: cosine similarity; keyword: BM25-based; hybrid: reciprocal-rank fusion" }),
});

export const ChatSummarySchema = Type.Object({
  chat_id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  username: Type.Union([Type.String(), Type.Null()], { description: "Public @username (without @); null for chats only imported from exports" }),
  messages: Type.Integer(),
  senders: Type.Integer({ description: "Distinct senders (by id, or by name where the id is unknown)" }),
  first_date: Type.Union([Type.String(), Type.Null()], { description: "ISO 8601, UTC" }),
  last_date: Type.Union([Type.String(), Type.Null()], { description: "ISO 8601, UTC" }),
});

export const ChatStatsSchema = Type.Composite([
  ChatSummarySchema,
  Type.Object({
    top_senders: Type.Array(
      Type.Object({
        sender: Type.Union([Type.String(), Type.Null()], { description: "The name on the sender's latest message" }),
        sender_id: Type.Union([Type.String(), Type.Null()]),
        messages: Type.Integer(),
      }),
      { description: "The 5 most active senders, most messages first, ties by name" },
    ),
    by_month: Type.Array(Type.Object({ month: Type.String({ description: "YYYY-MM, UTC" }), messages: Type.Integer() }), {
      description: "Messages per calendar month from the first message's to the last's, oldest first, empty months included",
    }),
  }),
]);

function toResult(hit: SearchHit) {
  return { chat_id: hit.chat_id, chat_name: hit.chat_name, chat_username: hit.chat_username, ...messageFields(hit), score: hit.score };
}

export async function createStorageService(deps: StorageServiceDeps): Promise<Service> {
  const { bus, storage, queryEmbedder, log } = deps;
  const { app, metrics } = await createHttpApp({
    service: "storage",
    version: TGLENS_VERSION,
    description: "Stores messages (SQLite + one vector index per chat) and searches them.",
    log,
    bodyLimit: deps.config.maxBodyBytes,
    access: deps.config.access,
    readiness: [
      { name: "bus", check: () => bus.ready() },
      { name: "embedder", check: () => queryEmbedder.ready() },
    ],
  });
  const stored = new Counter({ name: "tglens_stored_messages_total", help: "Messages upserted from store-topic", registers: [metrics] });

  app.get(
    "/search",
    {
      schema: {
        summary: "Search messages by meaning, by keyword, or both",
        description:
          "A query with no letter or digit left once cleaned (emoji, a bare link) has no meaning to embed: it is matched by keyword " +
          "on the original text, whatever the mode, and refused with 400 when it has no word either.",
        tags: ["storage"],
        querystring: SearchQuery,
        response: { 200: Type.Object({ results: Type.Array(SearchResult) }), 400: { $ref: "ErrorResponse#" } },
      },
    },
    async (req) => {
      const q = req.query as { q: string; k: number; chat?: string; sender?: string; from?: string; to?: string; mode: SearchMode };
      const filters: SearchFilters = {};
      if (q.chat !== undefined) filters.chat = q.chat;
      if (q.sender !== undefined) filters.sender = q.sender;
      const from = parseOptionalTimeBound("querystring.from", q.from, "from");
      const to = parseOptionalTimeBound("querystring.to", q.to, "to");
      if (from !== undefined) filters.from = from;
      if (to !== undefined) filters.to = to;
      // A query that would be dropped as a message (emoji only, a bare link) has no meaning to
      // embed: its original text is matched by keyword, or, with no word in it either, refused.
      const noMeaning = preprocess(q.q) === null;
      if (buildFtsQuery(q.q) === undefined && (noMeaning || q.mode === "keyword")) {
        throw new TglensError(
          "TGLENS_BAD_REQUEST",
          `the query ${JSON.stringify(q.q)} has nothing to search for: no letter or digit, only emoji, symbols or punctuation`,
          { details: { field: "q" } },
        );
      }
      let hits: SearchHit[];
      if (q.mode === "keyword" || noMeaning) {
        hits = await storage.searchKeyword(q.q, q.k, filters);
      } else {
        const vector = await queryEmbedder.embed(q.q);
        hits = await (q.mode === "semantic" ? storage.searchSemantic(vector, q.k, filters) : storage.searchHybrid(q.q, vector, q.k, filters));
      }
      return { results: hits.map(toResult) };
    },
  );

  const withIsoDates = <T extends ChatSummary>(c: T) => ({ ...c, first_date: iso(c.first_date), last_date: iso(c.last_date) });

  app.get(
    "/chats",
    {
      schema: {
        summary: "Indexed chats with message counts",
        tags: ["storage"],
        response: { 200: Type.Object({ chats: Type.Array(ChatSummarySchema) }) },
      },
    },
    async () => ({ chats: (await storage.chats()).map(withIsoDates) }),
  );

  app.get(
    "/chats/:id",
    { schema: { summary: "One chat", tags: ["storage"], params: ChatParams, response: { 200: ChatSummarySchema, 404: { $ref: "ErrorResponse#" } } } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const chat = await storage.chat(id);
      if (!chat) return reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no chat ${id}`));
      return withIsoDates(chat);
    },
  );

  app.get(
    "/chats/:id/stats",
    {
      schema: {
        summary: "One chat's statistics: counts, first and last dates, most active senders, messages per month",
        tags: ["storage"],
        params: ChatParams,
        response: { 200: ChatStatsSchema, 400: { $ref: "ErrorResponse#" }, 404: { $ref: "ErrorResponse#" } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const stats = await storage.chatStats(id);
      if (!stats) return reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no chat ${id}`));
      return withIsoDates(stats);
    },
  );

  registerMessageRoutes(app, storage);

  /** Storage's part of forgetting a chat: its rows (SQLite wiped with secure_delete), vectors and index files. */
  async function forgetChat(chatId: string): Promise<Removed> {
    const chat = await storage.chat(assertChatId(chatId));
    const existed = await storage.deleteChat(chatId);
    return { chats: existed || chat ? 1 : 0, messages: chat?.messages ?? 0 };
  }

  app.delete(
    "/chats/:id",
    {
      schema: {
        summary: "Forget a chat in storage only: its rows, vectors and index files",
        description:
          "Storage's own part of forgetting: the raw and preprocessed files of the chat stay with the scraper and the preprocessor. " +
          "The gateway's DELETE /api/chats/:id forgets the chat everywhere, over control-topic.",
        tags: ["storage"],
        params: ChatParams,
        response: {
          200: Type.Object({ chat_id: Type.String(), deleted: Type.Boolean(), messages: Type.Integer() }),
          404: { $ref: "ErrorResponse#" },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const removed = await forgetChat(id);
      if (!removed.chats) return reply.status(404).send(errorBody("TGLENS_NOT_FOUND", `no chat ${id}`));
      log.info({ chat_id: id, messages: removed.messages }, "chat forgotten in storage");
      return { chat_id: id, deleted: true, messages: removed.messages };
    },
  );

  app.post(
    "/store",
    {
      validatorCompiler: strictBodyValidator,
      schema: {
        summary: "Store embedded messages (upsert by chat and message id)",
        tags: ["storage"],
        body: Type.Object({ messages: Type.Array(EmbeddedMessage, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ inserted: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() }),
          400: { $ref: "ErrorResponse#" },
        },
      },
    },
    async (req) => storage.upsert((req.body as { messages: EmbeddedMessage[] }).messages),
  );

  async function handle(batch: Delivery<"store-topic">[]): Promise<void> {
    const messages = batch.map((d) => d.message);
    await storage.upsert(messages);
    stored.inc(messages.length);
    await reportMessages(bus, { stored: messages });
  }

  return busService(
    "storage",
    app,
    async () => [
      await bus.subscribe("store-topic", "storage", handle, { batchSize: 1000, maxWaitMs: 10 }),
      await followForgets({ bus, service: "storage", log, forget: forgetChat }),
    ],
    () => storage.close(),
  );
}

/** The embedder service as a query embedder; `token` is the API token its routes need, if any. */
export function httpQueryEmbedder(embedderUrl: string, token?: string): QueryEmbedder {
  return {
    async embed(text) {
      const res = await callJson<{ vectors: number[][] }>(embedderUrl, "/embed", { body: { texts: [text], priority: "query" }, token });
      return Float32Array.from(res.vectors[0]!);
    },
    async ready() {
      try {
        const res = await fetch(`${embedderUrl}/health`, { signal: AbortSignal.timeout(2000) });
        return res.ok || `embedder answered ${res.status}`;
      } catch (err) {
        return `embedder unreachable: ${(err as Error).message}`;
      }
    },
  };
}
