/**
 * Every chat the server has (`/chats`): its counts and dates, and links to search it and to see
 * its analytics. Importing, browsing by date and forgetting join here.
 */
import { html } from "htm/preact";
import { Link } from "../components/link.ts";
import { formatDay, plural } from "../lib/format.ts";
import { pageHref } from "../lib/pages.ts";
import type { PageProps } from "./page-props.ts";

export function ChatsPage({ chats }: PageProps) {
  return html`
    <section class="chats-page" aria-labelledby="chats-title">
      <h1 id="chats-title">Chats</h1>
      ${
        chats.length === 0
          ? html`<p>No chat is imported yet: <code>tglens import result.json</code>, or POST an export to <code>/api/scrape</code>.</p>`
          : html`
              <ul class="chat-list">
                ${chats.map(
                  (c) => html`
                  <li class="chat-card" data-chat-id=${c.chat_id}>
                    <h2>${c.name}</h2>
                    <p>
                      ${plural(c.messages, "message")} from ${plural(c.senders, "sender")}
                      ${c.first_date && c.last_date ? html`, ${formatDay(c.first_date)} to ${formatDay(c.last_date)}` : null}
                    </p>
                    <p class="links">
                      <${Link} href=${pageHref("search", { chat: c.chat_id })}>Search</${Link}>
                      <${Link} href=${pageHref("analytics", { chat: c.chat_id })}>Analytics</${Link}>
                    </p>
                  </li>
                `,
                )}
              </ul>
            `
      }
    </section>
  `;
}
