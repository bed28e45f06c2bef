/**
 * A message in its conversation (`/context?chat=<id>&message=<id>`), the page a search result
 * opens. For now it shows the message itself (from the result that opened it, kept with the
 * history entry) and where it is; the messages around it, the replied-to message and the replies
 * (ApiClient.messages: GET /api/chats/:id/messages?around=) are to join it here.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { SearchHit } from "../../../api/client.ts";
import { Link } from "../components/link.ts";
import { formatDate } from "../lib/format.ts";
import { pageHref } from "../lib/pages.ts";
import type { PageProps } from "./page-props.ts";

/** The hit a search result's link carried, when this entry was opened from one. */
function carriedHit(state: unknown, chat: string, message: number): SearchHit | undefined {
  const hit = (state as { hit?: SearchHit } | null)?.hit;
  return hit && hit.chat_id === chat && hit.message_id === message ? hit : undefined;
}

export function ContextPage({ api, chats, place, reportError }: PageProps) {
  const chat = place.params.get("chat") ?? "";
  const message = Number(place.params.get("message"));
  const hit = carriedHit(place.state, chat, message);
  const [chatName, setChatName] = useState<string | undefined>(chats.find((c) => c.chat_id === chat)?.name);
  useEffect(() => {
    if (chatName !== undefined || chat === "") return;
    api.chat(chat).then((c) => setChatName(c.name), reportError);
  }, [api, chat]);

  if (chat === "" || !Number.isInteger(message)) {
    return html`
      <section class="context-page">
        <h1>No message chosen</h1>
        <p>Open a message from the <${Link} href=${pageHref("search")}>search</${Link}>.</p>
      </section>
    `;
  }
  return html`
    <section class="context-page" aria-labelledby="context-title">
      <p>${hit ? html`<button type="button" class="link-button" onClick=${() => history.back()}>← Back to the results</button>` : null}</p>
      <h1 id="context-title">Message ${message} in ${hit?.chat_name ?? chatName ?? `chat ${chat}`}</h1>
      ${
        hit
          ? html`
              <article class="message marked" data-message-id=${hit.message_id}>
                <p class="hit-meta">
                  <span class="sender">${hit.sender ?? "Unknown sender"}</span>
                  <time datetime=${hit.date}>${formatDate(hit.date)}</time>
                </p>
                <p class="message-text">${hit.text}</p>
                ${hit.link ? html`<p><a href=${hit.link} target="_blank" rel="noopener noreferrer">Open in Telegram</a></p>` : null}
              </article>
            `
          : null
      }
      <p class="note">The conversation around this message is shown here once the server offers it.</p>
      <p><${Link} href=${pageHref("search", { chat })}>Search this chat</${Link}></p>
    </section>
  `;
}
