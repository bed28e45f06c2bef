/**
 * What the bot asks of the rest of tglens: the API client's calls it makes, straight to the
 * services the gateway forwards to (search and chats from storage, imports and jobs from the
 * scraper). A type of its own, so the bot's logic does not care whether the services share its
 * process. With API tokens set, it calls them with the admin token (the bot has its own users
 * check: TELEGRAM_ALLOWED_USER_IDS).
 */
import { ApiClient } from "../api/client.ts";
import type { Upstream } from "../api/endpoints.ts";

export type BotBackend = Pick<ApiClient, "search" | "chats" | "chatStats" | "forget" | "scrape" | "upload" | "job">;

export function httpBackend(urls: Readonly<Record<Upstream, string>>, token?: string): BotBackend {
  return new ApiClient({ services: urls }, token);
}
