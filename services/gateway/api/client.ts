/**
 * The one typed client of the tglens API, for the CLI, the bot and the web app. Its types are
 * derived from the route schemas (schemas.ts: the upstream services' own), so an answer that
 * changes shape changes every caller's type with it. It calls either a gateway (`/api/...`, as the
 * CLI and a web app do) or the services behind it directly (as the bot inside the gateway does):
 * the same paths either way (endpoints.ts). What the gateway answers itself (forgetting a chat)
 * needs a gateway. Errors keep the service's code (common/http-client.ts).
 * Only type imports of the schemas: a bundle of this file carries no server code.
 */
import type { Static } from "@sinclair/typebox";
import { TglensError } from "../../common/errors.ts";
import { callJson, type CallOptions } from "../../common/http-client.ts";
import { isFinished, type JobStatus } from "../../common/jobs.ts";
import type { LiveScrapeAccepted, ScrapeAccepted, ScrapeChatBody, ScrapeExportPathBody, ScrapeJsonBody } from "../../scraper/http-schemas.ts";
import type { SearchQuery } from "../../storage/index.ts";
import type { MessagesQuery } from "../../storage/routes/messages.ts";
import { API_PREFIX, ENDPOINTS, endpointPath, type EndpointName, type Upstream } from "./endpoints.ts";
import type { API_DOCS } from "./schemas.ts";

/** What an endpoint answers on success, as its schema defines it. */
export type AnswerOf<N extends EndpointName> = Static<(typeof API_DOCS)[N]["answer"]>;
export type SearchHit = AnswerOf<"search">["results"][number];
export type ChatSummary = AnswerOf<"chat">;
export type ChatStats = AnswerOf<"chatStats">;
export type ForgetAnswer = AnswerOf<"forget">;
/** A run of a chat's messages: around one (its context) or from a date. */
export type ChatMessages = AnswerOf<"messages">;
export type ChatMessage = ChatMessages["messages"][number];
/** 202 to an export (uploaded, or a path in the import directory). */
export type ImportAccepted = Static<typeof ScrapeAccepted>;
/** 202 to a live read of a chat. */
export type LiveImportAccepted = Static<typeof LiveScrapeAccepted>;
export type { JobStatus };

type SearchFields = Static<typeof SearchQuery>;
/** GET /search's query: `q`, and the rest when wanted (`k` and `mode` have defaults); dates as unix seconds or ISO 8601. */
export type SearchParams = Pick<SearchFields, "q"> &
  Partial<Omit<SearchFields, "q" | "from" | "to">> & { from?: string | number; to?: string | number };

/**
 * GET /chats/:id/messages's query: `around` (a message id) with `before`/`after`, or `from` (unix
 * seconds or ISO 8601) with `limit`; neither is the chat from its first message.
 */
export type MessagesParams = Omit<Static<typeof MessagesQuery>, "from"> & { from?: string | number };

const queryString = (params: object) => {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
  return query.toString();
};

/** Where the API is: a gateway, or each service behind it. */
export type ApiLocation = { gateway: string } | { services: Readonly<Record<Upstream, string>> };

const SCRAPE_TIMEOUT_MS = 60_000;
/** The gateway waits up to 30 s for each of the two steps of a forget. */
const FORGET_TIMEOUT_MS = 90_000;
const UPLOAD_TIMEOUT_MS = 60 * 60_000;

export class ApiClient {
  private readonly location: ApiLocation;
  /** TGLENS_API_TOKEN (or the read token), sent as a bearer token when set. */
  private readonly token: string | undefined;

  constructor(location: ApiLocation, token?: string) {
    this.location = "gateway" in location ? { gateway: location.gateway.replace(/\/$/, "") } : location;
    this.token = token;
  }

  private async call<N extends EndpointName>(name: N, opts: CallOptions & { id?: string; query?: string } = {}): Promise<AnswerOf<N>> {
    const { method, upstream } = ENDPOINTS[name];
    let base: string;
    let prefix = "";
    if ("gateway" in this.location) {
      [base, prefix] = [this.location.gateway, API_PREFIX];
    } else if (upstream === "gateway") {
      throw new TglensError("TGLENS_CONFIG", `${name} is answered by the gateway: this client calls the services behind it`);
    } else {
      base = this.location.services[upstream];
    }
    const path = prefix + endpointPath(name, opts.id) + (opts.query ? `?${opts.query}` : "");
    return callJson<AnswerOf<N>>(base, path, { ...opts, method, token: this.token });
  }

  async search(params: SearchParams): Promise<SearchHit[]> {
    return (await this.call("search", { query: queryString(params) })).results;
  }

  async chats(): Promise<ChatSummary[]> {
    return (await this.call("chats")).chats;
  }

  chat(chatId: string): Promise<ChatSummary> {
    return this.call("chat", { id: chatId });
  }

  chatStats(chatId: string): Promise<ChatStats> {
    return this.call("chatStats", { id: chatId });
  }

  /** A chat's messages around one message (its context), or from a date; each with its Telegram link. */
  messages(chatId: string, params: MessagesParams = {}): Promise<ChatMessages> {
    return this.call("messages", { id: chatId, query: queryString(params) });
  }

  /**
   * Forgets a chat everywhere: its messages, vectors, files and jobs, each service its own. Through
   * a gateway only; `pending` names the services that have not confirmed yet.
   */
  forget(chatId: string): Promise<ForgetAnswer> {
    return this.call("forget", { id: chatId, timeoutMs: FORGET_TIMEOUT_MS });
  }

  /**
   * Starts a live read of a chat through the Telegram API (the server needs Telegram credentials),
   * or an import of an export under the import directory.
   */
  scrape(body: Static<typeof ScrapeChatBody>): Promise<LiveImportAccepted>;
  scrape(body: Static<typeof ScrapeExportPathBody>): Promise<ImportAccepted>;
  scrape(body: ScrapeJsonBody): Promise<ImportAccepted | LiveImportAccepted>;
  scrape(body: ScrapeJsonBody): Promise<ImportAccepted | LiveImportAccepted> {
    return this.call("scrape", { body, timeoutMs: SCRAPE_TIMEOUT_MS });
  }

  /** Starts an import of an export sent as the body, streamed (`bytes`: its size, when known). */
  upload(body: ReadableStream<Uint8Array>, bytes?: number): Promise<ImportAccepted> {
    const stream = { body, ...(bytes === undefined ? {} : { bytes }) };
    return this.call("scrape", { stream, timeoutMs: UPLOAD_TIMEOUT_MS }) as Promise<ImportAccepted>;
  }

  job(jobId: string): Promise<JobStatus> {
    return this.call("job", { id: jobId });
  }

  async jobs(): Promise<JobStatus[]> {
    return (await this.call("jobs")).jobs;
  }

  /** Polls a job until it is done, partial or failed, reporting each status. */
  async waitForJob(jobId: string, onStatus: (job: JobStatus) => void, intervalMs = 200): Promise<JobStatus> {
    for (;;) {
      const job = await this.job(jobId);
      onStatus(job);
      // A parked job (a long Telegram FloodWait) resumes by itself: keep waiting.
      if (isFinished(job.state)) return job;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
