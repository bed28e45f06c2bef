/** Plain-text output of the CLI: short, aligned, readable in a terminal. */
import type { JobStatus } from "../services/common/jobs.ts";
import type { ChatRow, ImportAccepted, SearchResultRow } from "./client.ts";

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
};

export function formatResults(results: SearchResultRow[]): string {
  if (results.length === 0) return "no results\n";
  return (
    results
      .map((r, i) => {
        const head = `${String(i + 1).padStart(2)}. ${r.score.toFixed(3)}  ${r.date.slice(0, 16).replace("T", " ")}  ${r.sender ?? "(unknown)"} in ${r.chat_name} #${r.message_id}`;
        return `${head}\n    ${oneLine(r.text, 200)}`;
      })
      .join("\n") + "\n"
  );
}

export function formatChats(chats: ChatRow[]): string {
  if (chats.length === 0) return "no chats indexed\n";
  const rows = chats.map((c) => [c.chat_id, String(c.messages), String(c.senders), c.type, c.name]);
  const header = ["id", "messages", "senders", "type", "name"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function formatSummary(accepted: ImportAccepted, job: JobStatus): string {
  const c = job.counters;
  const lines = [
    `${job.state === "done" ? "imported" : `import ${job.state}`}: ${accepted.chats.length} chat(s)`,
    ...accepted.chats.map((chat) => `  ${chat.id}  ${chat.name} (${chat.type})`),
    `messages: ${accepted.messages}, skipped (service): ${accepted.skipped}, indexed: ${c.stored}, empty after cleaning: ${c.dropped}, failed: ${c.failed}`,
  ];
  if (job.error) lines.push(`error: ${job.error.message} (${job.error.code})`);
  return lines.join("\n") + "\n";
}
