/**
 * Turns what a person typed into an FTS5 MATCH expression that can never be a syntax error.
 *
 * Every chunk of the input becomes an FTS5 string ("..." with `"` doubled), so FTS5 operators (AND OR NOT NEAR, `-`,
 * `^`, `:`, `*`, parentheses) are ordinary text; FTS5 tokenizes a string into a phrase, so `foo-bar` matches the phrase
 * "foo bar", as the tokenizer sees it in messages. Kept from search-box habits: "two words" in double quotes is one
 * phrase, and a trailing `*` on a chunk is a prefix search (`ubunt*` → "ubunt" *). Chunks without a letter or digit
 * are dropped (they would tokenize to nothing). Control characters separate chunks, as the tokenizer treats them in
 * messages: FTS5 reads its query as a C string, so a NUL inside a quoted string would end it ("unterminated string").
 */

export interface FtsQuery {
  /** All terms must match (implicit AND). */
  all: string;
  /** Any term may match; same as `all` when there is one term. */
  any: string;
  terms: number;
}

const HAS_TOKEN_CHAR = /[\p{L}\p{N}]/u;
const CONTROL = /\p{Cc}/gu;

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Returns undefined when the input has no searchable term. */
export function buildFtsQuery(input: string): FtsQuery | undefined {
  const parts: string[] = [];
  // A quoted phrase (closing quote optional), or a run of non-space characters without quotes.
  const re = /"([^"]*)"?|([^\s"]+)/g;
  for (const m of input.normalize("NFC").replace(CONTROL, " ").matchAll(re)) {
    const phrase = m[1];
    const word = m[2];
    if (phrase !== undefined) {
      if (HAS_TOKEN_CHAR.test(phrase)) parts.push(quote(phrase));
      continue;
    }
    if (word === undefined) continue;
    const prefix = /[\p{L}\p{N}]\*+$/u.test(word);
    const body = prefix ? word.replace(/\*+$/, "") : word;
    if (!HAS_TOKEN_CHAR.test(body)) continue;
    parts.push(prefix ? `${quote(body)} *` : quote(body));
  }
  if (parts.length === 0) return undefined;
  // Bound the work a single request can ask for.
  const capped = parts.slice(0, 32);
  return { all: capped.join(" "), any: capped.join(" OR "), terms: capped.length };
}
