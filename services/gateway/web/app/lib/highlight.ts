/**
 * Which words of a message to mark for a query: the words of the query, compared case- and
 * accent-blind, a word also matching a longer form of itself (deliver → delivery) as long as the
 * shorter has four letters or more, and `word*` any word it begins. Little words (the, is, и, в)
 * are not marked unless the query has nothing else. A semantic hit may share no word with its
 * query: it is then shown unmarked, which is itself worth seeing.
 */

export interface Segment {
  text: string;
  /** A word the query names. */
  hit: boolean;
}

interface Term {
  word: string;
  /** `word*`: matches any word it begins. */
  prefix: boolean;
}

const WORD = /[\p{L}\p{N}]+(\*)?/gu;
const MIN_STEM = 4;

const STOP_WORDS = new Set(
  (
    "a an and are as at be but by can could did do does for from had has have how i if in into is it its me my no not of on or " +
    "our so than that the their them then there these they this to too us was we were what when where which who why will with " +
    "would you your и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от " +
    "меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя " +
    "ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда " +
    "кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее были куда зачем всех никогда можно при"
  ).split(" "),
);

/** The form words are compared in: lower case, without accents or other marks. */
export function fold(word: string): string {
  return word.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

export function queryTerms(query: string): Term[] {
  const all = [...query.matchAll(WORD)].map((m) => ({ word: fold(m[0].replace(/\*$/, "")), prefix: m[1] !== undefined }));
  const unique = all.filter((t, i) => all.findIndex((u) => u.word === t.word && u.prefix === t.prefix) === i);
  const content = unique.filter((t) => t.prefix || !STOP_WORDS.has(t.word));
  return content.length > 0 ? content : unique;
}

function matches(word: string, term: Term): boolean {
  if (word === term.word) return true;
  if (term.prefix) return word.startsWith(term.word);
  const [short, long] = word.length < term.word.length ? [word, term.word] : [term.word, word];
  return short.length >= MIN_STEM && long.startsWith(short);
}

/** The message cut into marked and unmarked pieces, in order; joined they are the text again. */
export function highlight(text: string, query: string): Segment[] {
  const terms = queryTerms(query);
  const segments: Segment[] = [];
  let at = 0;
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = fold(m[0]);
    if (!terms.some((t) => matches(word, t))) continue;
    if (m.index > at) segments.push({ text: text.slice(at, m.index), hit: false });
    segments.push({ text: m[0], hit: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) segments.push({ text: text.slice(at), hit: false });
  return segments;
}

/** Whether a query word occurs in the text (as highlight() marks it). */
export function sharesWords(text: string, query: string): boolean {
  return highlight(text, query).some((s) => s.hit);
}
