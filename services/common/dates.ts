/**
 * The dates people give as search bounds and live-read starts, read one way everywhere (the API,
 * the CLI, the web app's query): unix seconds, or ISO 8601 as YYYY-MM[-DD[THH:MM[:SS[.fff]]]]
 * with an optional Z or ±HH:MM (UTC when there is none, as tglens shows every date in UTC).
 *
 * A bound covers the whole span it names: `to=2005-02-06` is the end of that day (23:59:59),
 * `from=2005-02-06` its start, `to=2005-02` the end of February. Anything else — "06.02.2005",
 * which Date.parse would read month-first, or an impossible "2005-02-30" — is refused, never guessed.
 */
import { TglensError } from "./errors.ts";

export type Bound = "from" | "to";

/** What people may type, for help texts and error messages. */
export const DATE_FORMS = "YYYY-MM-DD (or YYYY-MM, or with a time: 2005-02-06T18:30, UTC unless it ends in Z or ±HH:MM) or unix seconds";

const ISO_RE = /^(\d{4})-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?)?$/i;

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Unix seconds for `value` as the `bound` end of a range; `name` ("querystring.to", "--to") starts
 * the message of the TGLENS_BAD_REQUEST thrown for anything that is not a date.
 */
export function parseTimeBound(name: string, value: string, bound: Bound): number {
  const text = value.trim();
  const refuse = (why: string) => new TglensError("TGLENS_BAD_REQUEST", `${name} ${why}`, { details: { field: name } });
  if (/^-?\d+$/.test(text)) {
    const seconds = Number(text);
    if (!Number.isSafeInteger(seconds)) throw refuse(`is too large for unix seconds: ${text}`);
    return seconds;
  }
  const m = ISO_RE.exec(text);
  if (!m) throw refuse(`must be a date, ${DATE_FORMS}; got ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const impossible = (why: string) => refuse(`is not a real date: ${JSON.stringify(value)} (${why})`);
  if (month < 1 || month > 12) throw impossible(`there is no month ${month}`);
  const day = d === undefined ? 1 : Number(d);
  if (day < 1 || day > daysIn(year, month)) throw impossible(`${MONTHS[month - 1]} ${year} has ${daysIn(year, month)} days`);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (hour > 23 || minute > 59 || second > 59) throw impossible(`there is no time ${h}:${mi}${s === undefined ? "" : `:${s}`}`);
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const [, sign, oh, om] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(oh) > 23 || Number(om) > 59) throw impossible(`there is no time zone ${zone}`);
    offsetMinutes = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om));
  }
  // Date.UTC's two-digit-year quirk (years 0-99 become 1900-1999) does not apply to setUTCFullYear.
  const start = new Date(0);
  start.setUTCFullYear(year, month - 1, day);
  start.setUTCHours(hour, minute, second, 0);
  const startSeconds = start.getTime() / 1000 - offsetMinutes * 60;
  if (bound === "from") return startSeconds;
  // The span the value names: a month, a day, a minute or a second.
  const span = d === undefined ? daysIn(year, month) * 86_400 : h === undefined ? 86_400 : s === undefined ? 60 : 1;
  return startSeconds + span - 1;
}

/** parseTimeBound for an optional value. */
export function parseOptionalTimeBound(name: string, value: string | undefined, bound: Bound): number | undefined {
  return value === undefined ? undefined : parseTimeBound(name, value, bound);
}
