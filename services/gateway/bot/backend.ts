/**
 * What the bot asks of the rest of tglens: the API client's calls it makes, straight to the
 * services the gateway forwards to (search and chats from storage, imports and jobs from the
 * scraper), and the gateway's own forget, which the bot's gateway passes in. A type of its own, so
 * the bot's logic does not care whether the services share its process. With API tokens set, it
 * calls them with the admin token (the bot has its own users check: TELEGRAM_ALLOWED_USER_IDS).
 */
import { ApiClient } from "../api/client.ts";
import type { Upstream } from "../api/endpoints.ts";

export type BotBackend = Pick<ApiClient, "search" | "chats" | "chatStats" | "forget" | "scrape" | "upload" | "job">;

/** The API client on the services, with the gateway's own forget in place of the client's (which needs a gateway). */
class ServicesBackend extends ApiClient {
  readonly #forget: BotBackend["forget"];

  constructor(urls: Readonly<Record<Upstream, string>>, token: string | undefined, forget: BotBackend["forget"]) {
    super({ services: urls }, token);
    this.#forget = forget;
  }

  override forget(chatId: string): ReturnType<BotBackend["forget"]> {
    return this.#forget(chatId);
  }
}

/** The services' HTTP APIs and `forget`, the gateway's (without it, a forget is refused: it needs the gateway). */
export function httpBackend(urls: Readonly<Record<Upstream, string>>, token?: string, forget?: BotBackend["forget"]): BotBackend {
  return forget ? new ServicesBackend(urls, token, forget) : new ApiClient({ services: urls }, token);
}
