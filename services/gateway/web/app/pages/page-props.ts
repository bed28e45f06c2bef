/** What every page is given by the app (shell.ts). */
import type { ApiClient, ChatSummary } from "../../../api/client.ts";
import type { Place } from "../lib/router.ts";

export interface PageProps {
  api: ApiClient;
  /** The chats the server has (GET /api/chats), for names and suggestions; empty until they come. */
  chats: readonly ChatSummary[];
  place: Place;
  /** Every failed API call goes here: a refused token brings the token prompt back. */
  reportError(err: unknown): void;
}
