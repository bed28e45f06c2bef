/**
 * How the page writes dates and counts. Dates are in UTC, as tglens shows them everywhere (the
 * CLI, the bot, the API) and as the date filters read a day, so a message shown on the 9th is
 * found by `from=…-09`.
 */

/** "2024-01-09 14:22 UTC" for an ISO 8601 date. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "2024-01-09" for an ISO 8601 date. */
export function formatDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 10);
}

/** "1 result", "12 results". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}
