/**
 * What the scraper's HTTP routes take and answer, as TypeBox schemas: the scraper's own routes and
 * the gateway's /api routes that forward to them document the same objects, and the API client
 * derives its types from them. Schemas only (no GramJS, no file system), so anything can import them.
 */
import { Type, type Static } from "@sinclair/typebox";
import { JobStatusSchema } from "../common/jobs.ts";
import { ChatRef } from "../common/schemas.ts";

/** `{"export_path"}`: an export already in the import directory. */
export const ScrapeExportPathBody = Type.Object({
  export_path: Type.String({
    minLength: 1,
    description: "A file under TGLENS_IMPORT_DIR, or a Telegram Desktop export folder there (its result.json)",
  }),
});

/** `{"chat"}`: a live read through the Telegram API (checked by telegram/scrape-body.ts). */
export const ScrapeChatBody = Type.Object(
  {
    chat: Type.String({ minLength: 1, description: "@username, numeric chat id or t.me link" }),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: "Read at most this many messages" })),
    since: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
        description: "Leave out messages before this: unix seconds or an ISO 8601 date",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The export itself, streamed as the body: result.json of one chat, or a full-account export. */
export const ScrapeExportBody = Type.Object(
  {},
  {
    additionalProperties: true,
    description: "A Telegram Desktop export (result.json of one chat, or a full-account export)",
  },
);

/** POST /scrape's body: one of the three. It is read as a stream, so the route checks it itself. */
export const ScrapeBody = Type.Union([ScrapeExportPathBody, ScrapeChatBody, ScrapeExportBody]);
/** The small JSON bodies a client builds (an export goes as a stream instead). */
export type ScrapeJsonBody = Static<typeof ScrapeExportPathBody> | Static<typeof ScrapeChatBody>;

/** 202 to an export: the job, and what the export holds. */
export const ScrapeAccepted = Type.Object({
  job_id: Type.String(),
  chats: Type.Array(ChatRef),
  messages: Type.Integer({ description: "messages that will be imported" }),
  skipped: Type.Integer({ description: "service and unsupported messages left out" }),
  replaced: Type.Integer({ description: "earlier versions of message ids that repeat in the export: only the last version is imported" }),
});

/** 202 to a live read. */
export const LiveScrapeAccepted = Type.Object({
  job_id: Type.String(),
  chat: Type.String({ description: "the chat as it will be read: @username or a numeric id" }),
});

export const ScrapeAnswer = Type.Union([ScrapeAccepted, LiveScrapeAccepted], { description: "Accepted: the import runs as a job (GET /jobs/:id)" });

export const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const JobsAnswer = Type.Object({ jobs: Type.Array(JobStatusSchema) }, { description: "Recent jobs, newest first" });
