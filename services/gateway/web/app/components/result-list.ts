/**
 * The results and a line saying what they are. The line and a thin progress bar keep their place
 * whether a search is running or not, and the previous results stay (dimmed) until the new ones
 * come, so nothing below moves while loading.
 */
import type { RefObject } from "preact";
import { html } from "htm/preact";
import { plural } from "../lib/format.ts";
import { hasFilters, searchQueryString } from "../lib/search-state.ts";
import type { SearchOutcome } from "../lib/use-search.ts";
import { ResultItem } from "./result-item.ts";

export interface ResultListProps {
  outcome: SearchOutcome;
  listRef: RefObject<HTMLOListElement | null>;
  /** What the idle page says (how much there is to search). */
  idleText: string;
}

function statusText({ status, hits, searched, error }: SearchOutcome, idleText: string): string {
  if (status === "idle") return idleText;
  if (status === "loading") return "Searching…";
  if (status === "error") return `The search failed: ${error}`;
  const filtered = searched && hasFilters(searched) ? " with these filters" : "";
  if (hits.length === 0) return `No message matches “${searched?.q.trim()}”${filtered}.`;
  return `${plural(hits.length, "result")}${filtered}, best first.`;
}

export function ResultList({ outcome, listRef, idleText }: ResultListProps) {
  const loading = outcome.status === "loading";
  const { searched } = outcome;
  return html`
    <div class=${loading ? "progress active" : "progress"} aria-hidden="true"></div>
    <p id="search-status" class=${outcome.status === "error" ? "status error" : "status"} role="status" aria-live="polite">
      ${statusText(outcome, idleText)}
    </p>
    <ol
      class=${loading ? "results stale" : "results"}
      aria-label="Results"
      aria-busy=${loading ? "true" : "false"}
      data-search=${searched ? searchQueryString(searched) : ""}
      ref=${listRef}
    >
      ${
        searched
          ? // Ids can repeat within an export: the position keeps keys apart.
            outcome.hits.map(
              (hit, i) => html`<${ResultItem} key=${`${i}:${hit.chat_id}:${hit.message_id}`} hit=${hit} query=${searched.q} mode=${searched.mode} />`,
            )
          : null
      }
    </ol>
  `;
}
