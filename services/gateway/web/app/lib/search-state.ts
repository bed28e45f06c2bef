/**
 * The search page's state, kept in its URL (`/?q=...&chat=...&mode=...`) so that a link
 * reproduces the page and the back button restores an earlier search. Read leniently (a hand-edited
 * URL with an unknown mode or a malformed chat id drops that part, not the page) and written
 * minimally (defaults and empty fields are left out, in one order, so one search has one URL).
 */
import type { SearchParams } from "../../../api/client.ts";

export type SearchMode = NonNullable<SearchParams["mode"]>;

/** In the order the page offers them; the first is the API's default. */
export const SEARCH_MODES: readonly SearchMode[] = ["semantic", "hybrid", "keyword"];
export const DEFAULT_MODE: SearchMode = "semantic";

export interface SearchState {
  q: string;
  mode: SearchMode;
  /** A chat id, or "" for every chat. */
  chat: string;
  /** A sender's name or id (user123), or "". */
  sender: string;
  /** YYYY-MM-DD (or YYYY-MM), or "": the API reads a day as the whole day, in UTC. */
  from: string;
  to: string;
}

export const EMPTY_SEARCH: SearchState = { q: "", mode: DEFAULT_MODE, chat: "", sender: "", from: "", to: "" };

/** How many results the page asks for. */
export const RESULTS_WANTED = 20;

const CHAT_ID = /^-?[0-9]{1,20}$/;
const DAY = /^\d{4}-\d{2}(-\d{2})?$/;
const FIELDS = ["q", "chat", "sender", "from", "to", "mode"] as const;

const isMode = (value: string): value is SearchMode => (SEARCH_MODES as readonly string[]).includes(value);

export function parseSearch(query: string | URLSearchParams): SearchState {
  const params = typeof query === "string" ? new URLSearchParams(query) : query;
  const text = (name: string, max: number) => (params.get(name) ?? "").trim().slice(0, max);
  const matching = (name: string, re: RegExp) => {
    const value = text(name, 32);
    return re.test(value) ? value : "";
  };
  const mode = text("mode", 16);
  return {
    q: (params.get("q") ?? "").slice(0, 2000),
    mode: isMode(mode) ? mode : DEFAULT_MODE,
    chat: matching("chat", CHAT_ID),
    sender: text("sender", 200),
    from: matching("from", DAY),
    to: matching("to", DAY),
  };
}

/** The query string of a state ("" for the empty search, else "?q=..."), defaults left out. */
export function searchQueryString(state: SearchState): string {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = state[name];
    if (value !== "" && !(name === "mode" && value === DEFAULT_MODE)) params.set(name, value);
  }
  const query = params.toString();
  return query === "" ? "" : `?${query}`;
}

export function sameSearch(a: SearchState, b: SearchState): boolean {
  return searchQueryString(a) === searchQueryString(b);
}

/** Whether any filter narrows the search. */
export function hasFilters(state: SearchState): boolean {
  return state.chat !== "" || state.sender !== "" || state.from !== "" || state.to !== "";
}

/** What to ask GET /api/search, or undefined when there is nothing to look for yet. */
export function searchParams(state: SearchState, k: number = RESULTS_WANTED): SearchParams | undefined {
  const q = state.q.trim();
  if (q === "") return undefined;
  const params: SearchParams = { q, k, mode: state.mode };
  if (state.chat !== "") params.chat = state.chat;
  if (state.sender !== "") params.sender = state.sender;
  if (state.from !== "") params.from = state.from;
  if (state.to !== "") params.to = state.to;
  return params;
}
