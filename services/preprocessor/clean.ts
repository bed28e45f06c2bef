/**
 * Text cleaning and language tagging for the preprocessor. `cleanText` turns a chat message into the
 * text that gets embedded (the original is kept for display): emoji, invisible characters, symbols
 * that are not punctuation, URLs and e-mail addresses go; letters of every script, punctuation and
 * the ASCII symbols code is written with stay, as the tokenizer makes each its own token.
 * `detectLanguage` tags it with an ISO 639-1 code or "und"; `preprocess` does both and returns null
 * when no letter and no digit is left. The rules, in order, and why each: docs/architecture.md
 * ("Cleaning rules"); the sections below are numbered as there.
 */
import { eld } from "eld/small";

// ---------------------------------------------------------------------------------------------
// 1. emoji
// The class holds combining marks (U+20E3, variation selectors) on purpose: they are removed alone too.
const EMOJI_RE = new RegExp(
  // eslint-disable-next-line no-misleading-character-class
  String.raw`[0-9#*]\uFE0F?\u20E3|[\p{Extended_Pictographic}\p{Emoji_Presentation}\p{Emoji_Modifier}\p{Regional_Indicator}` +
    String.raw`\uFE00-\uFE0F\u20E3\u{E0020}-\u{E007F}\u{E0100}-\u{E01EF}]`,
  "gu",
);

// 2. invisible characters and lone surrogates
const INVISIBLE_RE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cs}]/gu;

// 4. special characters (anything not in the keep list, plus bullets)
const SPECIAL_RE = /[^\p{L}\p{M}\p{N}\p{P}\p{Sc}\s+<=>^`|~°±×÷]|[•‣⁃∙]/gu;

// 5. combining marks without a base
const ORPHAN_MARK_RE = /(^|\s)\p{M}+/gu;

// 6. URLs and e-mail addresses
/** TLDs removed even without a path: web TLDs that are not also common file extensions. */
const BARE_TLDS = [
  "com",
  "net",
  "org",
  "edu",
  "gov",
  "mil",
  "int",
  "info",
  "biz",
  "name",
  "pro",
  "mobi",
  "io",
  "dev",
  "app",
  "xyz",
  "site",
  "online",
  "tech",
  "blog",
  "store",
  "shop",
  "cloud",
  "page",
  "wiki",
  "news",
  "club",
  "live",
  "space",
  "website",
  "link",
  "top",
  "me",
  "tv",
  "fm",
  "co",
  "ly",
  "gl",
  "gg",
  "ai",
  "to",
  "it",
  "ru",
  "su",
  "рф",
  "ua",
  "by",
  "kz",
  "uz",
  "uk",
  "de",
  "fr",
  "es",
  "nl",
  "eu",
  "jp",
  "cn",
  "br",
  "ca",
  "au",
  "us",
  "ch",
  "se",
  "fi",
  "dk",
  "at",
  "cz",
  "il",
  "ir",
  "tr",
  "gr",
  "hu",
  "ro",
  "nz",
  "za",
  "kr",
  "tw",
  "hk",
  "sg",
  "vn",
  "mx",
  "ar",
  "cl",
  "ie",
];
/** With a path ("youtu.be/x"), any two-letter country TLD also counts. */
const PATH_TLDS = [...BARE_TLDS, "[a-z]{2}"];
const LABEL = String.raw`[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?`;
/** Not part of a longer token on the left: letter, digit, path/identifier character, "#channel". */
const LEFT = String.raw`(?<![\p{L}\p{N}\p{M}_@#./\\~-])`;
/** Characters a URL may end with that usually belong to the sentence around it. */
const TRAILING = /[.,!?;:'")\]}>*]+$/u;

const URL_RE = new RegExp(
  [
    // scheme://... and mailto:...
    String.raw`(?<![\p{L}\p{N}])(?:[a-zA-Z][a-zA-Z0-9+.-]{0,15}:\/\/|mailto:)[^\s<>"]*`,
    // www.
    String.raw`${LEFT}[wW]{3}\d{0,3}\.[^\s<>"]+`,
    // e-mail addresses (before domains, or "user@example.com" would leave "user@")
    String.raw`(?<![\p{L}\p{N}\p{M}._%+-])[\p{L}\p{N}._%+-]+@(?:${LABEL}\.)+\p{L}{2,}(?![\p{L}\p{N}\p{M}-])`,
    // domain with a path
    String.raw`${LEFT}(?:${LABEL}\.)+(?:${PATH_TLDS.join("|")})(?::\d{1,5})?\/[^\s<>"]*`,
    // bare domain
    String.raw`${LEFT}(?:${LABEL}\.)+(?:${BARE_TLDS.join("|")})(?::\d{1,5})?(?![\p{L}\p{N}\p{M}_@/-])`,
  ].join("|"),
  "gu",
);

function urlReplacer(match: string): string {
  const trail = TRAILING.exec(match);
  if (!trail) return " ";
  let keep = trail[0];
  // "(see en.wikipedia.org/wiki/Foo_(bar))": a ")" closing a "(" inside the URL is part of it
  let open = 0;
  for (const c of match.slice(0, match.length - keep.length)) open += c === "(" ? 1 : c === ")" ? -1 : 0;
  while (open > 0 && keep.startsWith(")")) {
    keep = keep.slice(1);
    open--;
  }
  return " " + keep;
}

// 7. runs of one punctuation/symbol character
const PUNCT_RUN_RE = /([^\p{L}\p{M}\p{N}\s])\1{3,}/gu;

// 8. whitespace
const SPACE_RE = /\s+/g;

/** Anything outside printable ASCII: the non-ASCII steps can be skipped when this fails. */
const NON_ASCII_RE = /[^\x20-\x7E]/;
/** Cheap pre-test for step 6: every URL/e-mail form contains ':' '.' or '@' followed by more. */
const MAYBE_URL_RE = /[.@:]\S/;
const MAYBE_RUN_RE = /([^\p{L}\p{N}\s])\1\1\1/u;

/** The text to embed: the rules in docs/architecture.md ("Cleaning rules"). Idempotent; "" when nothing is left. */
export function cleanText(text: string): string {
  let s = text;
  if (NON_ASCII_RE.test(s)) {
    s = s.replace(EMOJI_RE, " ").replace(INVISIBLE_RE, "").normalize("NFKC");
  }
  if (NON_ASCII_RE.test(s)) {
    s = s.replace(SPECIAL_RE, " ").replace(ORPHAN_MARK_RE, "$1");
  }
  if (MAYBE_URL_RE.test(s)) {
    // Until nothing changes: removing one match can expose a neighbour that the boundary checks
    // rejected ("a@b.coXYZ+c@d.co"), and cleanText must be idempotent.
    for (let prev = ""; prev !== s;) {
      prev = s;
      s = s.replace(URL_RE, urlReplacer);
    }
  }
  if (MAYBE_RUN_RE.test(s)) s = s.replace(PUNCT_RUN_RE, "$1$1$1");
  return s.replace(SPACE_RE, " ").trim();
}

// ---------------------------------------------------------------------------------------------
// Language detection

/*
 * Detector: eld ("Efficient Language Detector", pure JS, 60 languages, ISO 639-1 output), its
 * "small" n-gram database. Measured against tinyld and franc-min on 266 chat sentences in 14
 * languages and on the 196k-line English IRC corpus (see the report that introduced this module):
 * eld was as accurate as the best (eld-large 259/266, eld-small 256, tinyld-heavy 262, tinyld 253,
 * franc-min 167: franc has no Hebrew, answers in ISO 639-3 and needs long texts), tagged far fewer
 * English chat lines as another language (with a 6-letter floor: eld 6.9%, tinyld 15-16%, which
 * also answers Klingon and Volapük), and ran 4-8x faster. "small" rather than "large": same
 * accuracy within one or two sentences, 45 MB of heap instead of 135 MB (RSS +146 MB instead of
 * +412 MB) and a quicker start. All sizes give the same scores on short Cyrillic texts.
 *
 * Thresholds below which detectLanguage answers "und":
 *  - minLetters: texts that go to the n-gram model need at least this many letters. Below 6, eld
 *    answers Polish for "ok", Czech for "k", Vietnamese for "ty", Bulgarian for "да".
 *  - minScoreRatio: eld's score for its answer must reach this share of that language's average
 *    score in a correct detection (eld's own `isReliable()` uses 0.75; its second test compares a
 *    score with a language index and never fires, so it is not used). On the IRC corpus the two
 *    thresholds cut lines tagged with a wrong language from 10.2% to 3.3% (English 86.0% → 80.8%,
 *    "und" 3.8% → 15.9%) and turn none of the 266 test sentences into "und" except one two-word
 *    Italian phrase.
 *  - minHan: a Chinese-script-only text needs this many characters ("好" → und, "好的" → zh).
 * Scripts that belong to one language (kana, Hangul, Hebrew, Greek, Thai, Georgian, Armenian)
 * decide by themselves when they are at least half of the letters, whatever the length.
 * Known weak spot: short Cyrillic texts with no letter that tells ru/uk/bg/sr apart ("как у вас
 * дела?" → sr) are close to a coin toss for eld (top scores within 0.01); 54 of 62 such test
 * sentences come out right.
 */
export const LANG_THRESHOLDS = { minLetters: 6, minScoreRatio: 0.85, minHan: 2 } as const;

/**
 * Average score of a correct detection per language, copied from eld 2.1.0 (src/avgScore.js, not
 * exported by the package). Used as eld's `isReliable()` uses it.
 */
const ELD_AVG_SCORE: Readonly<Record<string, number>> = {
  am: 0.832,
  ar: 0.845,
  az: 0.804,
  be: 0.841,
  bg: 0.838,
  bn: 0.876,
  ca: 0.762,
  cs: 0.759,
  da: 0.77,
  de: 0.777,
  el: 0.801,
  en: 0.777,
  es: 0.771,
  et: 0.779,
  eu: 0.746,
  fa: 0.831,
  fi: 0.784,
  fr: 0.783,
  gu: 0.872,
  he: 0.803,
  hi: 0.883,
  hr: 0.77,
  hu: 0.752,
  hy: 0.802,
  is: 0.788,
  it: 0.784,
  ja: 0.796,
  ka: 0.893,
  kn: 0.875,
  ko: 0.764,
  ku: 0.853,
  lo: 0.873,
  lt: 0.777,
  lv: 0.789,
  ml: 0.874,
  mr: 0.884,
  ms: 0.774,
  nl: 0.77,
  no: 0.75,
  or: 0.872,
  pa: 0.873,
  pl: 0.768,
  pt: 0.78,
  ro: 0.771,
  ru: 0.833,
  sk: 0.763,
  sl: 0.771,
  sq: 0.789,
  sr: 0.838,
  sv: 0.767,
  ta: 0.882,
  te: 0.878,
  th: 0.864,
  tl: 0.777,
  tr: 0.783,
  uk: 0.836,
  ur: 0.827,
  vi: 0.848,
  yo: 0.752,
  zh: 0.752,
};

/** Scripts written by exactly one language eld knows. */
const SCRIPT_LANGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\p{Script=Hangul}/gu, "ko"],
  [/\p{Script=Hebrew}/gu, "he"],
  [/\p{Script=Greek}/gu, "el"],
  [/\p{Script=Thai}/gu, "th"],
  [/\p{Script=Georgian}/gu, "ka"],
  [/\p{Script=Armenian}/gu, "hy"],
];
const KANA_RE = /[\p{Script=Hiragana}\p{Script=Katakana}]/gu;
const HAN_RE = /\p{Script=Han}/gu;
const LETTER_RE = /\p{L}/gu;
const ASCII_LETTER_RE = /[A-Za-z]/g;
const CYRILLIC_RE = /\p{Script=Cyrillic}/u;

/**
 * Cyrillic letters each Cyrillic language eld knows does NOT use. eld confuses ru/uk/bg/be on
 * short texts ("спасибо, у меня всё заработало" → uk); a letter the language does not have
 * rules it out, and the best-scoring language whose alphabet fits is taken instead.
 */
const CYRILLIC_FOREIGN: Readonly<Record<string, RegExp>> = {
  ru: /[іїєґўјљњћђѓќѕџ]/iu,
  uk: /[ыэёъўјљњћђѓќѕџ]/iu,
  be: /[ищъїєґјљњћђѓќѕџ]/iu,
  bg: /[ыэёіїєґўјљњћђѓќѕџ]/iu,
  sr: /[йщъыьэюяёіїєґўѓќѕ]/iu,
};

function count(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/** ISO 639-1 code of the text's language, or "und" when it is too short or unclear. */
export function detectLanguage(text: string): string {
  const ascii = !NON_ASCII_RE.test(text);
  const letters = ascii ? count(ASCII_LETTER_RE, text) : count(LETTER_RE, text);
  if (letters === 0) return "und";
  if (!ascii) {
    const han = count(HAN_RE, text);
    const kana = count(KANA_RE, text);
    if (kana > 0 && (kana + han) * 2 >= letters) return "ja";
    if (han * 2 >= letters) return han >= LANG_THRESHOLDS.minHan ? "zh" : "und";
    for (const [re, lang] of SCRIPT_LANGS) {
      if (count(re, text) * 2 >= letters) return lang;
    }
  }
  if (letters < LANG_THRESHOLDS.minLetters) return "und";

  const result = eld.detect(text);
  if (!result.language) return "und";
  const scores = result.getScores(); // best first
  let lang = result.language;
  if (!ascii && lang in CYRILLIC_FOREIGN && CYRILLIC_RE.test(text) && CYRILLIC_FOREIGN[lang]!.test(text)) {
    const fits = Object.keys(scores).find((l) => l in CYRILLIC_FOREIGN && !CYRILLIC_FOREIGN[l]!.test(text));
    if (fits) lang = fits;
  }
  const score = scores[lang] ?? 0;
  if (score < LANG_THRESHOLDS.minScoreRatio * (ELD_AVG_SCORE[lang] ?? 0.8)) return "und";
  return lang;
}

/** Cleaned text and language tag, or null when no letter or digit survives cleaning (drop it). */
export function preprocess(text: string): { clean_text: string; lang: string } | null {
  const clean_text = cleanText(text);
  if (!/[\p{L}\p{N}]/u.test(clean_text)) return null;
  return { clean_text, lang: detectLanguage(clean_text) };
}
