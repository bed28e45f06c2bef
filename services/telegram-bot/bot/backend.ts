/**
 * What the bot asks of the rest of tglens, over the same HTTP APIs the gateway forwards to: search
 * and chats from storage, imports and jobs from the scraper. An interface, so the bot's logic does
 * not care whether the services share its process. With API tokens set, it calls them with the
 * admin token (the bot has its own users check: TELEGRAM_ALLOWED_USER_IDS).
 */
import type { Static } from "@sinclair/typebox";
import type { Config } from "../../common/config.ts";
import { TglensError } from "../../common/errors.ts";
import { bearer, callJson, readJsonResponse } from "../../common/http-client.ts";
import type { ChatStatsSchema, ChatSummarySchema, SearchResult } from "../../storage/index.ts";

/** Storage's answers, as its own response schemas define them. */
export type SearchHit = Static<typeof SearchResult>;
export type ChatInfo = Static<typeof ChatSummarySchema>;
export type ChatStats = Static<typeof ChatStatsSchema>;

export interface JobInfo {
  job_id: string;
  state: string;
  source: string;
  expected: number | null;
  counters: Record<string, number>;
  chats: { id: string; name: string }[];
  error: { code: string; message: string } | null;
  resume_at?: string | null;
}

export interface BotBackend {
  search(query: string, opts: { k: number; chat?: string }): Promise<SearchHit[]>;
  chats(): Promise<ChatInfo[]>;
  stats(chatId: string): Promise<ChatStats>;
  forget(chatId: string): Promise<{ messages: number }>;
  /** Starts an import: a live chat (`@name`, id, t.me link) or an export file in the import directory. */
  index(target: { chat: string } | { export_path: string }): Promise<{ job_id: string }>;
  /** Starts an import of an export sent as a file, streamed through to the scraper. */
  upload(body: ReadableStream<Uint8Array>): Promise<{ job_id: string; messages: number }>;
  job(jobId: string): Promise<JobInfo>;
}

export function httpBackend(urls: Config["urls"], token?: string): BotBackend {
  const storage = urls.storage;
  const scraper = urls.scraper;
  const chatPath = (id: string) => `/chats/${encodeURIComponent(id)}`;
  return {
    async search(query, { k, chat }) {
      const params = new URLSearchParams({ q: query, k: String(k), ...(chat ? { chat } : {}) });
      return (await callJson<{ results: SearchHit[] }>(storage, `/search?${params}`, { token })).results;
    },
    async chats() {
      return (await callJson<{ chats: ChatInfo[] }>(storage, "/chats", { token })).chats;
    },
    stats: (chatId) => callJson<ChatStats>(storage, `${chatPath(chatId)}/stats`, { token }),
    forget: (chatId) => callJson<{ messages: number }>(storage, chatPath(chatId), { method: "DELETE", token }),
    index: (target) => callJson<{ job_id: string }>(scraper, "/scrape", { body: target, token }),
    job: (jobId) => callJson<JobInfo>(scraper, `/jobs/${encodeURIComponent(jobId)}`, { token }),
    async upload(body) {
      let res: Response;
      try {
        res = await fetch(`${scraper}/scrape`, { method: "POST", headers: { ...bearer(token), "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
      } catch (err) {
        throw new TglensError("TGLENS_UPSTREAM", `cannot reach ${scraper}: ${(err as Error).message}`, { cause: err });
      }
      return readJsonResponse(res, `${scraper}/scrape`);
    },
  };
}
