/**
 * Searches the bot can page through. Telegram's callback data holds at most 64 bytes, so a button
 * carries a short id of the search and the page; the query itself stays here. Bounded: the oldest
 * searches are forgotten first, and a button of a forgotten search asks for a new one.
 */
export interface PagedSearch {
  /** The heading of every page (HTML). */
  title: string;
  query: string;
  chat?: string;
  /** A message to leave out of the results (the one /similar was asked about). */
  exclude?: { chat_id: string; message_id: number };
}

export class SearchPages {
  readonly #entries = new Map<string, PagedSearch>();
  readonly #capacity: number;
  #next = 0;

  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  add(search: PagedSearch): string {
    const id = (this.#next++).toString(36);
    this.#entries.set(id, search);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return id;
  }

  get(id: string): PagedSearch | undefined {
    return this.#entries.get(id);
  }
}

/** Callback data of a page button: `page:<search id>:<page>`. */
export function pageData(searchId: string, page: number): string {
  return `page:${searchId}:${page}`;
}

export function parsePageData(data: string): { searchId: string; page: number } | undefined {
  const m = /^page:([0-9a-z]{1,12}):(\d{1,3})$/.exec(data);
  return m ? { searchId: m[1]!, page: Number(m[2]) } : undefined;
}
