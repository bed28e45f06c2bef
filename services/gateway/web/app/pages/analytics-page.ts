/**
 * What a chat talked about and when (`/analytics?chat=<id>`): for now its counts, its most active
 * senders and its messages per month, from GET /api/chats/:id/stats, each as a table so the
 * numbers are there to read. Charts, the weekday × hour heatmap and topics join here.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { ChatStats } from "../../../api/client.ts";
import { Link } from "../components/link.ts";
import { NumbersTable } from "../components/numbers-table.ts";
import { plural } from "../lib/format.ts";
import { pageHref } from "../lib/pages.ts";
import type { PageProps } from "./page-props.ts";

export function AnalyticsPage({ api, chats, place, reportError }: PageProps) {
  const chat = place.params.get("chat") ?? "";
  const [stats, setStats] = useState<ChatStats | undefined>();
  useEffect(() => {
    setStats(undefined);
    if (chat === "") return;
    let current = true;
    api.chatStats(chat).then((s) => current && setStats(s), reportError);
    return () => {
      current = false;
    };
  }, [api, chat]);

  if (chat === "") {
    return html`
      <section class="analytics-page" aria-labelledby="analytics-title">
        <h1 id="analytics-title">Analytics</h1>
        <p>Choose a chat:</p>
        <ul>
          ${chats.map((c) => html`<li><${Link} href=${pageHref("analytics", { chat: c.chat_id })}>${c.name}</${Link}></li>`)}
        </ul>
      </section>
    `;
  }
  return html`
    <section class="analytics-page" aria-labelledby="analytics-title" aria-busy=${stats ? "false" : "true"}>
      <h1 id="analytics-title">${stats?.name ?? "Analytics"}</h1>
      ${
        stats
          ? html`
              <p>${plural(stats.messages, "message")} from ${plural(stats.senders, "sender")}.</p>
              <${NumbersTable}
                caption="Most active senders"
                columns=${["Sender", "Messages"]}
                rows=${stats.top_senders.map((s) => [s.sender ?? s.sender_id ?? "unknown", s.messages])}
              />
              <${NumbersTable}
                caption="Messages per month (UTC)"
                columns=${["Month", "Messages"]}
                rows=${stats.by_month.map((m) => [m.month, m.messages])}
              />
            `
          : html`<p>Loading…</p>`
      }
    </section>
  `;
}
