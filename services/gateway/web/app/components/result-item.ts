/**
 * One search result: who wrote it, where and when; the message with the query's words marked, as
 * the link that opens it in its conversation; and why it was found, in words (a weak semantic
 * match says so); and its "Open in Telegram" link, for chats Telegram links messages of.
 */
import { html } from "htm/preact";
import type { SearchHit } from "../../../api/client.ts";
import { formatDate } from "../lib/format.ts";
import { sharesWords } from "../lib/highlight.ts";
import { contextHref } from "../lib/pages.ts";
import { explainScore } from "../lib/score.ts";
import type { SearchMode } from "../lib/search-state.ts";
import { Highlighted } from "./highlighted.ts";
import { Link } from "./link.ts";

export interface ResultItemProps {
  hit: SearchHit;
  /** The search that found it: its query marks the words, its mode explains the score. */
  query: string;
  mode: SearchMode;
}

export function ResultItem({ hit, query, mode }: ResultItemProps) {
  const why = explainScore(mode, hit.score, sharesWords(hit.text, query));
  return html`
    <li class=${why.weak ? "hit weak" : "hit"} data-chat-id=${hit.chat_id} data-message-id=${hit.message_id}>
      <p class="hit-meta">
        <span class="sender">${hit.sender ?? "Unknown sender"}</span> · <span class="chat">${hit.chat_name}</span> ·${" "}
        <time datetime=${hit.date}>${formatDate(hit.date)}</time>
      </p>
      <${Link} class="hit-open" href=${contextHref(hit.chat_id, hit.message_id)} state=${{ hit }}>
        <${Highlighted} text=${hit.text} query=${query} />
      </${Link}>
      <p class="hit-why">
        <span class=${`badge ${why.kind}`}>${why.kind}</span> <span class="summary">${why.summary}</span>${" "}
        <span class="detail">(${why.detail})</span>
        ${hit.link ? html` <a class="telegram" href=${hit.link} target="_blank" rel="noopener noreferrer">Open in Telegram</a>` : null}
      </p>
    </li>
  `;
}
