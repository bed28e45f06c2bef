/**
 * The web app's pages and their addresses. The gateway serves the page at each of these paths
 * (plugin.ts), and the app shows the one the address names, so every view has a link of its own.
 * Plain data: the server and the browser both import it.
 */

export const PAGES = {
  /** The search box, results, filters: `/?q=...&chat=...&mode=...` (search-state.ts). */
  search: "/",
  /** A message in its conversation: `/context?chat=<chat id>&message=<message id>`. */
  context: "/context",
  /** Every chat: counts, dates; import and forget. */
  chats: "/chats",
  /** What a chat (`?chat=<id>`) or every chat talked about, and when. */
  analytics: "/analytics",
} as const;

export type PageName = keyof typeof PAGES;

export function pageAt(pathname: string): PageName | undefined {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  return (Object.keys(PAGES) as PageName[]).find((name) => PAGES[name] === path);
}

/** A page's address with its query (empty values left out). */
export function pageHref(page: PageName, params: Record<string, string | number | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") query.set(k, String(v));
  const qs = query.toString();
  return qs === "" ? PAGES[page] : `${PAGES[page]}?${qs}`;
}

export const contextHref = (chatId: string, messageId: number) => pageHref("context", { chat: chatId, message: messageId });
