/**
 * Every message that crosses the bus, defined once as a runtime schema (TypeBox) with its
 * TypeScript type derived from it. Both the publisher and the consumer validate, so a message
 * that would break a Kafka consumer breaks the in-memory bus the same way.
 *
 * Topics are named for the stage that consumes them:
 *   scrape-topic → scraper → preprocess-topic → preprocessor → embed-topic → embedder
 *   → store-topic → storage.   job-topic carries job progress counters to whoever tracks jobs.
 * control-topic carries work that touches every service that keeps chat data: the gateway asks to
 * forget a chat, and the scraper, the preprocessor and storage each forget their own traces of it
 * and confirm on the same topic (keyed by chat id, so a chat's request and answers stay in order).
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";

export const MESSAGE_SCHEMA_VERSION = 1;

/**
 * Latest date a message may carry: 9999-12-31T23:59:59Z. Beyond it ISO 8601 needs a six-digit
 * year, and past 8.64e12 s JavaScript's Date cannot hold it at all.
 */
export const MAX_UNIX_SECONDS = 253_402_300_799;
/** Message ids are Telegram's int32s; negative ones come from supergroups migrated from a group. */
export const MAX_ABS_MESSAGE_ID = 2 ** 51;

const UnixSeconds = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_UNIX_SECONDS, description });

export const ChatRef = Type.Object({
  id: Type.String({ pattern: "^-?[0-9]{1,20}$", description: "Telegram chat id as a decimal string" }),
  name: Type.String(),
  type: Type.String({ description: "personal_chat, private_group, public_supergroup, ..." }),
  /** The public @username (without @), when the chat has one: search results link to t.me/<username>/<id>. */
  username: Type.Optional(Type.String({ minLength: 1 })),
});
export type ChatRef = Static<typeof ChatRef>;

export const Sender = Type.Object({
  id: Type.Union([Type.String(), Type.Null()], { description: "user123 / channel123 / chat123, or null" }),
  name: Type.Union([Type.String(), Type.Null()]),
});
export type Sender = Static<typeof Sender>;

/** One chat message as read from an export or the Telegram API: the single raw record shape. */
export const RawMessage = Type.Object({
  v: Type.Literal(MESSAGE_SCHEMA_VERSION),
  job_id: Type.String(),
  chat: ChatRef,
  message_id: Type.Integer({
    minimum: -MAX_ABS_MESSAGE_ID,
    maximum: MAX_ABS_MESSAGE_ID,
    description: "can be negative (supergroups migrated from a group)",
  }),
  date: UnixSeconds("unix seconds"),
  sender: Sender,
  reply_to: Type.Union([Type.Integer(), Type.Null()]),
  forwarded_from: Type.Union([Type.String(), Type.Null()]),
  /** Unix seconds of the last edit, or null. */
  edited: Type.Union([UnixSeconds("unix seconds of the last edit"), Type.Null()]),
  /** photo, video_file, voice_message, sticker, document, ... or null for plain text. */
  media: Type.Union([Type.String(), Type.Null()]),
  /** The text as Telegram shows it (entities flattened, links kept). */
  text: Type.String(),
});
export type RawMessage = Static<typeof RawMessage>;

/** A raw message after cleaning: `clean_text` is what gets embedded, `text` what people read. */
export const CleanMessage = Type.Composite([
  RawMessage,
  Type.Object({
    clean_text: Type.String({ minLength: 1 }),
    /** ISO 639-1 code, or "und" when the detector could not tell. */
    lang: Type.String(),
  }),
]);
export type CleanMessage = Static<typeof CleanMessage>;

export const EMBEDDING_DIM = 384;

export const EmbeddedMessage = Type.Composite([
  CleanMessage,
  Type.Object({
    vector: Type.Array(Type.Number(), { minItems: EMBEDDING_DIM, maxItems: EMBEDDING_DIM }),
  }),
]);
export type EmbeddedMessage = Static<typeof EmbeddedMessage>;

/** What to read. An uploaded export is saved to a file first, so topics never carry whole exports. */
export const ScrapeSource = Type.Union([
  Type.Object({
    kind: Type.Literal("export"),
    path: Type.String({ minLength: 1 }),
    /** Earlier versions of repeated message ids the export holds (its summary counted them): only the last is imported. */
    replaced: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  Type.Object({
    kind: Type.Literal("telegram"),
    chat: Type.String({ minLength: 1 }),
    limit: Type.Optional(Type.Integer({ minimum: 1 })),
    since: Type.Optional(Type.Integer({ description: "unix seconds" })),
  }),
]);
export type ScrapeSource = Static<typeof ScrapeSource>;

export const ScrapeRequest = Type.Object({
  v: Type.Literal(MESSAGE_SCHEMA_VERSION),
  job_id: Type.String({ minLength: 1 }),
  source: ScrapeSource,
});
export type ScrapeRequest = Static<typeof ScrapeRequest>;

/** Counters a job accumulates as its messages pass the stages. */
export const JOB_COUNTERS = [
  "scraped", // raw messages published by the scraper
  "skipped", // service / unsupported messages the scraper left out
  "cleaned", // messages the preprocessor passed on
  "dropped", // messages empty after cleaning
  "embedded",
  "stored",
  "failed", // messages that went to a dead-letter topic
  "replaced", // earlier versions of a message id that repeats in an export (the last one is imported)
] as const;
export type JobCounter = (typeof JOB_COUNTERS)[number];

/** Message ids per chat id: which messages a counter moved for. */
export const MessageIds = Type.Record(Type.String(), Type.Array(Type.Integer()));
export type MessageIds = Static<typeof MessageIds>;

/** Why one message (or the source) failed, as a job shows its first errors. */
export const JobError = Type.Object({
  chat_id: Type.Union([Type.String(), Type.Null()]),
  message_id: Type.Union([Type.Integer(), Type.Null()]),
  code: Type.String(),
  message: Type.String(),
});
export type JobError = Static<typeof JobError>;

export const JobEvent = Type.Object({
  v: Type.Literal(MESSAGE_SCHEMA_VERSION),
  job_id: Type.String({ minLength: 1 }),
  /** Counter increments (only the counters that moved). */
  add: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  /**
   * The messages behind each increment. A stage that crashes after reporting but before committing
   * its offset handles the batch again and reports it again; with the ids the job book counts each
   * message once, so a job is never "done" before its last message is stored.
   */
  ids: Type.Optional(Type.Record(Type.String(), MessageIds)),
  /**
   * `queued` when the job is accepted (with `source` and `expected`, so any process can rebuild the
   * job from job-topic), `scraped` when the scraper has read the whole source, `failed` with `error`
   * when the source failed. A live read that Telegram asks to wait longer than the scraper sleeps in
   * place is `parked` (with `resume_at`) and `resumed` when the wait is over.
   */
  phase: Type.Optional(
    Type.Union([Type.Literal("queued"), Type.Literal("scraped"), Type.Literal("failed"), Type.Literal("parked"), Type.Literal("resumed")]),
  ),
  source: Type.Optional(Type.String()),
  expected: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  /** Why the messages counted as `failed` in this event failed (dead letters). */
  errors: Type.Optional(Type.Array(JobError, { maxItems: 100 })),
  /** Chats the scraper saw, for the job summary. */
  chats: Type.Optional(Type.Array(ChatRef)),
  /**
   * When reading resumes after a Telegram FloodWait (ISO 8601): slept in place, or parked with
   * phase `parked`. null when the wait is over.
   */
  resume_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** What the source is doing, in words (e.g. why it waits); null clears it. */
  note: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type JobEvent = Static<typeof JobEvent>;

/** The services that keep data of a chat, and so take part in forgetting one (the embedder keeps none). */
export const FORGETTING_SERVICES = ["scraper", "preprocessor", "storage"] as const;
export type ForgettingService = (typeof FORGETTING_SERVICES)[number];

const ChatId = ChatRef.properties.id;
const RequestId = Type.String({ minLength: 1, maxLength: 100, description: "names one forget request; its answers repeat it" });
const ForgettingServiceName = Type.Union(FORGETTING_SERVICES.map((s) => Type.Literal(s)));

/** Forget a chat: each service that keeps data of it (or each of `services`) removes its own, then answers. */
export const ForgetRequest = Type.Object({
  v: Type.Literal(MESSAGE_SCHEMA_VERSION),
  kind: Type.Literal("forget"),
  request_id: RequestId,
  chat_id: ChatId,
  /** Only these services (the gateway asks storage last); all of them when absent. */
  services: Type.Optional(Type.Array(ForgettingServiceName, { minItems: 1, maxItems: FORGETTING_SERVICES.length, uniqueItems: true })),
});
export type ForgetRequest = Static<typeof ForgetRequest>;

/** What every answer to a forget names: the request, its chat and the service answering. */
const forgetReply = <K extends string>(kind: K) => ({
  v: Type.Literal(MESSAGE_SCHEMA_VERSION),
  kind: Type.Literal(kind),
  request_id: RequestId,
  chat_id: ChatId,
  service: ForgettingServiceName,
});

/** A service has no trace of the chat left; `removed` counts what it removed (files, rows, jobs), 0 on a redelivery. */
export const ForgetConfirmation = Type.Object({
  ...forgetReply("forgotten"),
  removed: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
});
export type ForgetConfirmation = Static<typeof ForgetConfirmation>;

/** A service could not forget the chat (a disk error, say): why. Asking again is safe. */
export const ForgetFailure = Type.Object({
  ...forgetReply("forget-failed"),
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
export type ForgetFailure = Static<typeof ForgetFailure>;

export const ControlMessage = Type.Union([ForgetRequest, ForgetConfirmation, ForgetFailure]);
export type ControlMessage = Static<typeof ControlMessage>;

export const TOPICS = {
  "scrape-topic": ScrapeRequest,
  "preprocess-topic": RawMessage,
  "embed-topic": CleanMessage,
  "store-topic": EmbeddedMessage,
  "job-topic": JobEvent,
  "control-topic": ControlMessage,
} as const satisfies Record<string, TSchema>;

export type Topic = keyof typeof TOPICS;
export type MessageOf<T extends Topic> = Static<(typeof TOPICS)[T]>;
export const TOPIC_NAMES = Object.keys(TOPICS) as Topic[];

/** A message that failed every attempt, as written to `<topic>.dlq`. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  payload: string;
  error: { code: string; message: string };
  attempts: number;
  failed_at: string;
}
