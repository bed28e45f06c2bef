/** Plain-text output of the CLI: short, aligned, readable in a terminal. */
import type {
  ChatMessage,
  ChatMessages,
  ChatStats,
  ChatSummary,
  ForgetAnswer,
  ImportAccepted,
  JobStatus,
  LiveImportAccepted,
  SearchHit,
} from "../services/gateway/api/client.ts";

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
};

/** "2024-05-01T18:30:00.000Z" → "2024-05-01 18:30". */
const minute = (iso: string) => iso.slice(0, 16).replace("T", " ");
const minuteOrDash = (iso: string | null) => (iso === null ? "-" : minute(iso));

/** Columns padded to their widest cell; the last one is not, since it holds free text (names). */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

const withUsername = (name: string, username: string | null) => (username === null ? name : `${name} (@${username})`);

export function formatResults(results: SearchHit[]): string {
  if (results.length === 0) return "no results\n";
  return (
    results
      .map((r, i) => {
        const who = `${r.sender ?? "(unknown)"} in ${r.chat_name} #${r.message_id}`;
        const head = `${String(i + 1).padStart(2)}. ${r.score.toFixed(3)}  ${minute(r.date)}  ${who}`;
        return `${head}\n    ${oneLine(r.text, 200)}${r.link ? `\n    ${r.link}` : ""}`;
      })
      .join("\n") + "\n"
  );
}

/** What a message says: its text, after its kind of media when it has one. */
const body = (m: ChatMessage) => oneLine([m.media === null ? "" : `[${m.media}]`, m.text].filter(Boolean).join(" "), 200);

/**
 * What `tglens show` prints: one line per message in chat order (date, id, sender, text, link), the
 * target marked ▶, a reply indented under ↳ with the message it answers (quoted when it is outside
 * the conversation shown); then the replies to the target further on, and ⋮ where there is more.
 */
export function formatConversation(page: ChatMessages): string {
  const shown = new Map(page.messages.map((m) => [m.message_id, m]));
  const quoted = new Map(page.replied_to.map((m) => [m.message_id, m]));
  const line = (m: ChatMessage) => {
    const mark = m.is_target ? "▶" : " ";
    const indent = m.reply_to === null ? " " : "   ↳ ";
    const re = m.reply_to === null ? "" : ` (reply to #${m.reply_to})`;
    const head = `${mark}${indent}${minute(m.date)}  #${m.message_id}  ${m.sender ?? "(unknown)"}${re}: ${body(m)}${m.link ? `  ${m.link}` : ""}`;
    const original = m.reply_to === null || shown.has(m.reply_to) ? undefined : quoted.get(m.reply_to);
    if (!original) return [head];
    return [`         ┆ #${original.message_id} ${minute(original.date)} ${original.sender ?? "(unknown)"}: ${oneLine(body(original), 100)}`, head];
  };
  const { chat } = page;
  const lines = [
    `${withUsername(chat.name, chat.username)} · chat ${chat.chat_id}${page.target === null ? "" : ` · message #${page.target}`}`,
    ...(page.before.more ? ["  ⋮"] : []),
    ...page.messages.flatMap(line),
    ...(page.after.more ? ["  ⋮"] : []),
  ];
  if (page.replies.length > 0) lines.push("", `replies to #${page.target} further on:`, ...page.replies.flatMap(line));
  if (chat.link_note !== null) lines.push("", `no links: ${chat.link_note}`);
  return lines.join("\n") + "\n";
}

export function formatChats(chats: ChatSummary[]): string {
  if (chats.length === 0) return "no chats indexed\n";
  const rows = chats.map((c) => [c.chat_id, String(c.messages), String(c.senders), c.type, withUsername(c.name, c.username)]);
  return table(["id", "messages", "senders", "type", "name"], rows).join("\n") + "\n";
}

/** Width of the longest bar in the per-month histogram. */
const BAR_WIDTH = 40;

export function formatChatStats(stats: ChatStats): string {
  const busiest = Math.max(1, ...stats.by_month.map((m) => m.messages));
  const lines = [
    `${withUsername(stats.name, stats.username)} · chat ${stats.chat_id} · ${stats.type}`,
    ...table(
      ["messages", "senders", "first (UTC)", "last (UTC)"],
      [[String(stats.messages), String(stats.senders), minuteOrDash(stats.first_date), minuteOrDash(stats.last_date)]],
    ),
    "",
    "most active senders",
    ...(stats.top_senders.length === 0
      ? ["  (none)"]
      : table(
          ["messages", "id", "sender"],
          stats.top_senders.map((s) => [String(s.messages), s.sender_id ?? "-", s.sender ?? "(unknown)"]),
        )),
    "",
    "messages per month (UTC)",
    ...table(
      ["month", "messages", ""],
      stats.by_month.map((m) => [m.month, String(m.messages), "█".repeat(Math.ceil((m.messages / busiest) * BAR_WIDTH))]),
    ),
  ];
  return lines.map((l) => l.trimEnd()).join("\n") + "\n";
}

/** The end of a live read: what was read of the chat and what became searchable. */
export function formatLiveSummary(accepted: LiveImportAccepted, job: JobStatus): string {
  const head = `${job.state === "done" ? "read" : `live read ${job.state}`}: ${accepted.chat}`;
  return [head, ...outcomeLines(job, job.counters.scraped, job.counters.skipped)].join("\n") + "\n";
}

export function formatSummary(accepted: Pick<ImportAccepted, "job_id" | "chats" | "messages" | "skipped">, job: JobStatus): string {
  const head = `${job.state === "done" ? "imported" : `import ${job.state}`}: ${accepted.chats.length} chat(s)`;
  const chats = accepted.chats.map((chat) => `  ${chat.id}  ${chat.name} (${chat.type})`);
  return [head, ...chats, ...outcomeLines(job, accepted.messages, accepted.skipped)].join("\n") + "\n";
}

/** The counts every import ends with, and its error if it failed. */
function outcomeLines(job: JobStatus, messages: number, skipped: number): string[] {
  const c = job.counters;
  const lines = [
    `messages: ${messages}, skipped (service): ${skipped}, indexed: ${c.stored}, empty after cleaning: ${c.dropped}, failed: ${c.failed}`,
  ];
  if (c.replaced) lines.push(`repeated message ids: ${c.replaced} earlier version(s) replaced by the last one`);
  if (job.error) lines.push(`error: ${job.error.message} (${job.error.code})`);
  for (const e of job.errors ?? []) {
    const which = e.message_id === null ? "" : `message ${e.message_id}${e.chat_id === null ? "" : ` of chat ${e.chat_id}`}: `;
    lines.push(`  ${which}${e.message} (${e.code})`);
  }
  return lines;
}

/**
 * What `tglens forget` prints: `out` when every service confirmed; with services still pending,
 * which did confirm, and `warning` (for stderr) naming the others.
 */
export function formatForget(answer: ForgetAnswer): { out: string; warning?: string } {
  const head = `forgot chat ${answer.chat_id} (${answer.messages} messages)`;
  if (answer.pending.length === 0) return { out: `${head}\n` };
  const confirmed = Object.keys(answer.services);
  const [have, forget] = answer.pending.length > 1 ? ["have", "they forget"] : ["has", "it forgets"];
  return {
    out: `${head}${confirmed.length > 0 ? ` in ${confirmed.join(" and ")}` : ""}\n`,
    warning: `${answer.pending.join(" and ")} ${have} not confirmed yet: ${forget} the chat when back\n`,
  };
}
