/**
 * The gateway's API as /openapi.json shows it: for each endpoint, the parameters, body and answers
 * of the upstream route it forwards to, built from the upstream's own schemas (storage's search
 * and chat schemas, the scraper's scrape and job schemas), with every status it can answer; and
 * the answer of what the gateway does itself (forgetting a chat in every service).
 * The API client derives its types from the same objects.
 */
import { Type, type TSchema } from "@sinclair/typebox";
import type { FastifySchema } from "fastify";
import { ERROR_CODES } from "../../common/errors.ts";
import { JobStatusSchema } from "../../common/jobs.ts";
import { ChatRef, FORGETTING_SERVICES } from "../../common/schemas.ts";
import { JobParams, JobsAnswer, ScrapeAnswer, ScrapeBody } from "../../scraper/http-schemas.ts";
import { ChatStatsSchema, ChatSummarySchema, SearchQuery, SearchResult } from "../../storage/index.ts";
import { MessagesAnswer, MessagesQuery } from "../../storage/routes/messages.ts";
import { ENDPOINTS, type EndpointName } from "./endpoints.ts";

export const SearchAnswer = Type.Object({ results: Type.Array(SearchResult) }, { description: "The best matches, best first" });
export const ChatsAnswer = Type.Object({ chats: Type.Array(ChatSummarySchema) }, { description: "Indexed chats with message counts" });
const Removed = (service: string, what: string) =>
  Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: `what the ${service} removed, by kind (${what})` });

/** The gateway's answer to DELETE /api/chats/:id: what each service that keeps chat data confirmed. */
export const ForgetAnswer = Type.Object(
  {
    chat_id: Type.String(),
    deleted: Type.Boolean({ description: "true when every service confirmed: the chat is gone everywhere" }),
    messages: Type.Integer({ description: "messages the chat had" }),
    services: Type.Object(
      {
        scraper: Type.Optional(Removed("scraper", "raw_files, checkpoints, jobs, jobs_scrubbed, parked, uploads")),
        preprocessor: Type.Optional(Removed("preprocessor", "files")),
        storage: Type.Optional(Removed("storage", "chats, messages")),
      },
      { description: "the services that confirmed, each with what it removed" },
    ),
    pending: Type.Array(Type.Union(FORGETTING_SERVICES.map((s) => Type.Literal(s))), {
      description: "services that had not confirmed in time (202): they forget the chat when they next read control-topic",
    }),
  },
  { description: "The chat is gone: index, database, raw and preprocessed files, its jobs; each service confirmed" },
);
export const ChatParams = Type.Object({ id: ChatRef.properties.id });

/** A schema with a description of its own in these docs (the upstream's object itself is left as it is). */
const described = <T extends TSchema>(schema: T, description: string): T => ({ ...schema, description });

interface EndpointDoc {
  summary: string;
  description?: string;
  querystring?: TSchema;
  params?: TSchema;
  body?: TSchema;
  /** The success status and its answer. */
  status: 200 | 202;
  answer: TSchema;
  /** Another success status it can answer, and that answer. */
  also?: { status: 202; answer: TSchema };
  /** The error statuses it can answer, each with the one error body. */
  refusals: readonly number[];
}

/** Every /api route can be refused by the access checks (401 only with API tokens), or find its service down. */
const ANY = [401, 403, 502] as const;

export const API_DOCS = {
  search: {
    summary: "Search messages by meaning, by keyword, or both",
    description:
      "A query with no letter or digit left once cleaned (emoji, a bare link) is matched by keyword, whatever the mode, " +
      "and refused with 400 when it has no word either.",
    querystring: SearchQuery,
    status: 200,
    answer: SearchAnswer,
    refusals: [400, ...ANY, 429, 503],
  },
  chats: { summary: "Indexed chats", status: 200, answer: ChatsAnswer, refusals: ANY },
  chat: {
    summary: "One chat",
    params: ChatParams,
    status: 200,
    answer: described(ChatSummarySchema, "The chat, with its message and sender counts"),
    refusals: [400, ...ANY, 404],
  },
  chatStats: {
    summary: "One chat's statistics: counts, dates, most active senders, messages per month",
    params: ChatParams,
    status: 200,
    answer: described(ChatStatsSchema, "The chat's counts, dates, top senders and messages per month"),
    refusals: [400, ...ANY, 404],
  },
  messages: {
    summary: "A chat's messages: around one message (its context), or from a date",
    description:
      "around=<message id>&before=&after= (10 and 10 unless given, at most 100 each): the message (is_target), the messages before " +
      "and after it in chat order, what they reply to (replied_to) and the replies to it (replies); from=<date>&limit= (50 unless " +
      "given, at most 100): the first messages at or after the date (a date alone is the start of its day, UTC), from the chat's " +
      "first message without around or from. Every message carries its Telegram link (null where Telegram has none; " +
      "chat.link_note says why). Paging: `before` and `after` name the first and last message and whether there is more. " +
      "404 for an unknown chat or message; 400 for around with from, before/after with from, limit with around.",
    params: ChatParams,
    querystring: MessagesQuery,
    status: 200,
    answer: MessagesAnswer,
    refusals: [400, ...ANY, 404],
  },
  forget: {
    summary: "Forget a chat everywhere",
    description:
      "The gateway asks the services that keep chat data (scraper, preprocessor, then storage) on control-topic to forget it, " +
      "and answers 200 once each confirmed, or 202 when some had not within 30 s (named in `pending`: they forget it when they are back). " +
      "404 for a chat storage does not know; 502 when a service could not forget its part (storage then keeps the chat: ask again).",
    params: ChatParams,
    status: 200,
    answer: ForgetAnswer,
    also: { status: 202, answer: described(ForgetAnswer, "Forgotten where confirmed; the services in `pending` have not confirmed yet") },
    refusals: [400, ...ANY, 404, 503],
  },
  scrape: {
    summary: "Import a Telegram Desktop export, or read a chat live from Telegram",
    description:
      'Body: the export JSON itself (streamed through to the scraper), `{"export_path": "<file under TGLENS_IMPORT_DIR>"}`, ' +
      'or `{"chat": "@username | numeric id | t.me link", "limit"?, "since"?}` ' +
      "for a live read through the Telegram API (503 without Telegram credentials). The whole export is checked before anything is imported.",
    body: ScrapeBody,
    status: 202,
    answer: ScrapeAnswer,
    refusals: [400, ...ANY, 404, 408, 413, 415, 422, 429, 503],
  },
  job: {
    summary: "Status and counters of a job",
    params: JobParams,
    status: 200,
    answer: described(JobStatusSchema, "The job's state and counters"),
    refusals: [400, ...ANY, 404],
  },
  jobs: { summary: "Recent jobs, newest first", status: 200, answer: JobsAnswer, refusals: ANY },
} as const satisfies Record<EndpointName, EndpointDoc>;

/** What a status means, from the error registry: the codes that answer with it. */
function refusal(status: number) {
  const codes = Object.entries(ERROR_CODES)
    .filter(([, spec]) => spec.status === status)
    .map(([code]) => code);
  return { description: `Refused: ${codes.join(", ")} (see the error codes in docs/api.md)`, $ref: "ErrorResponse#" };
}

/** The Fastify schema of `/api<path>`: documentation only, as the upstream validates (see routes.ts). */
export function routeSchema(name: EndpointName): FastifySchema {
  const doc: EndpointDoc = API_DOCS[name];
  const { method, path, upstream } = ENDPOINTS[name];
  return {
    summary: doc.summary,
    description:
      (doc.description ? `${doc.description} ` : "") +
      (upstream === "gateway" ? "Answered by the gateway." : `Forwarded to ${upstream} ${method} ${path}.`),
    tags: ["api"],
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.body ? { body: doc.body } : {}),
    response: {
      [doc.status]: doc.answer,
      ...(doc.also ? { [doc.also.status]: doc.also.answer } : {}),
      ...Object.fromEntries(doc.refusals.map((status) => [status, refusal(status)])),
    },
  };
}
