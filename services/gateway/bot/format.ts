/**
 * The bot's replies as Telegram HTML (the parse mode that needs the least escaping: &, < and >).
 * Pure functions, so every reply can be tested without a Bot API.
 */
import type { ChatStats, ChatSummary, ForgetAnswer, JobStatus, SearchHit } from "../api/client.ts";

export const PAGE_SIZE = 5;
const SNIPPET_CHARS = 220;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** "2024-03-05 14:22 UTC" from an ISO date. */
export function shortDate(iso: string | null): string {
  if (!iso) return "–";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** One line of text, cut at a word boundary near `max` characters. */
export function snippet(text: string, max = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A link to the message when its chat is public (has a username); private chats have none. */
export function messageLink(hit: Pick<SearchHit, "chat_username" | "message_id">): string | null {
  return hit.chat_username ? `https://t.me/${hit.chat_username}/${hit.message_id}` : null;
}

/** One page of results: numbered from the page's first rank, each with sender, date, chat, snippet and link. */
export function formatResults(title: string, hits: readonly SearchHit[], page: number): string {
  if (hits.length === 0) return page === 0 ? `${title}\n\nNothing found.` : `${title}\n\nNo more results.`;
  const lines = [title, ""];
  hits.forEach((hit, i) => {
    const rank = page * PAGE_SIZE + i + 1;
    const who = escapeHtml(hit.sender ?? "unknown sender");
    const link = messageLink(hit);
    lines.push(`${rank}. <b>${who}</b> · ${shortDate(hit.date)} · ${escapeHtml(hit.chat_name)}`);
    lines.push(escapeHtml(snippet(hit.text) || "(no text)"));
    if (link) lines.push(link);
    lines.push("");
  });
  return lines.join("\n").trimEnd();
}

export function formatChats(chats: readonly ChatSummary[]): string {
  if (chats.length === 0) return "No chats indexed yet. Send /index &lt;chat&gt; to add one.";
  const lines = [`<b>${chats.length} indexed chat${chats.length === 1 ? "" : "s"}</b>`, ""];
  for (const c of chats) {
    const handle = c.username ? ` (@${escapeHtml(c.username)})` : "";
    lines.push(`• <b>${escapeHtml(c.name)}</b>${handle} — ${c.messages.toLocaleString("en")} messages, id <code>${escapeHtml(c.chat_id)}</code>`);
  }
  return lines.join("\n");
}

export function formatStats(s: ChatStats): string {
  const lines = [
    `<b>${escapeHtml(s.name)}</b>${s.username ? ` (@${escapeHtml(s.username)})` : ""}`,
    `Messages: ${s.messages.toLocaleString("en")}`,
    `Senders: ${s.senders.toLocaleString("en")}`,
    `First: ${shortDate(s.first_date)}`,
    `Last: ${shortDate(s.last_date)}`,
  ];
  if (s.top_senders.length > 0) {
    lines.push("", "<b>Most active</b>");
    s.top_senders.forEach((t, i) => lines.push(`${i + 1}. ${escapeHtml(t.sender ?? t.sender_id ?? "unknown")} — ${t.messages.toLocaleString("en")}`));
  }
  return lines.join("\n");
}

/** Stats of every chat when no chat was named: one line each. */
export function formatAllStats(chats: readonly ChatSummary[]): string {
  if (chats.length === 0) return formatChats(chats);
  const total = chats.reduce((n, c) => n + c.messages, 0);
  const lines = [`<b>${total.toLocaleString("en")} messages in ${chats.length} chat${chats.length === 1 ? "" : "s"}</b>`, ""];
  for (const c of chats) {
    lines.push(
      `• <b>${escapeHtml(c.name)}</b>: ${c.messages.toLocaleString("en")} messages, ${c.senders} senders, ` +
        `${shortDate(c.first_date).slice(0, 10)} – ${shortDate(c.last_date).slice(0, 10)}`,
    );
  }
  lines.push("", "Send /stats &lt;chat&gt; for one chat's most active senders.");
  return lines.join("\n");
}

/** Progress of an import as one message, edited in place while the job runs. */
export function formatJob(label: string, job: JobStatus): string {
  const c = job.counters;
  const n = (v: number | undefined) => (v ?? 0).toLocaleString("en");
  const name = escapeHtml(label);
  if (job.state === "failed") return `Indexing ${name} failed: ${escapeHtml(job.error?.message ?? "unknown error")}`;
  if (job.state === "partial") {
    return `Indexed ${name} in part: <b>${n(c.stored)} messages</b> stored, <b>${n(c.failed)} failed</b>: ${escapeHtml(job.error?.message ?? "")}`;
  }
  if (job.state === "done") {
    const extra = [
      c.skipped ? `${n(c.skipped)} service messages skipped` : "",
      c.dropped ? `${n(c.dropped)} empty after cleaning` : "",
      c.failed ? `${n(c.failed)} failed` : "",
    ].filter(Boolean);
    return `Indexed ${name}: <b>${n(c.stored)} messages</b> stored${extra.length ? ` (${extra.join(", ")})` : ""}.`;
  }
  const of = job.expected ? ` of ${n(job.expected)}` : "";
  const lines = [`Indexing ${name}…`, `read ${n(c.scraped)}${of} · cleaned ${n(c.cleaned)} · embedded ${n(c.embedded)} · stored ${n(c.stored)}`];
  if (job.state === "parked") lines.push(`Telegram asked to wait; resuming at ${shortDate(job.resume_at)}.`);
  return lines.join("\n");
}

/** The reply to /forget: gone, or gone where confirmed with the services that have not confirmed named. */
export function formatForgotten(name: string, answer: ForgetAnswer): string {
  const head = `Forgot <b>${escapeHtml(name)}</b>: ${answer.messages.toLocaleString("en")} messages`;
  if (answer.pending.length === 0) return `${head}, its index and its files are gone.`;
  const pending = answer.pending.join(" and ");
  return `${head}. Not confirmed yet by the ${pending}: ${answer.pending.length > 1 ? "they forget" : "it forgets"} the chat when back.`;
}
