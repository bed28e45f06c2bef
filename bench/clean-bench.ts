/**
 * Throughput of the preprocessor's cleaning and language tagging over a Telegram export.
 *
 *   bash scripts/with-node.sh bench/clean-bench.ts [export.json] [--rounds N]
 *
 * Default corpus: /work/shared/data/ubuntu-irc-train.json (196k short English IRC lines), or
 * $TGLENS_BENCH_CORPUS. Prints messages/s for cleanText and for preprocess (cleaning + language
 * tag; median of N rounds, default 3, after a warm-up), how many messages are dropped as empty
 * after cleaning (with examples), and the share of each language tag.
 */
import { readFileSync } from "node:fs";
import { cleanText, preprocess } from "../services/preprocessor/clean.ts";

type ExportText = string | Array<string | { text?: string }>;

function flatten(text: ExportText | undefined): string {
  if (text === undefined) return "";
  if (typeof text === "string") return text;
  return text.map((p) => (typeof p === "string" ? p : (p.text ?? ""))).join("");
}

const args = process.argv.slice(2);
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
const file =
  args.find((a, i) => !a.startsWith("--") && i !== roundsAt + 1) ?? process.env.TGLENS_BENCH_CORPUS ?? "/work/shared/data/ubuntu-irc-train.json";

const t0 = performance.now();
const data = JSON.parse(readFileSync(file, "utf8")) as {
  messages: Array<{ type?: string; text?: ExportText }>;
};
const texts = data.messages.filter((m) => m.type === undefined || m.type === "message").map((m) => flatten(m.text));
const nonEmpty = texts.filter((t) => t.length > 0);
const chars = texts.reduce((n, t) => n + t.length, 0);
console.log(
  `corpus: ${file}\n  ${texts.length} messages (${texts.length - nonEmpty.length} with no text, e.g. media only), ` +
    `mean ${(chars / texts.length).toFixed(1)} chars, read+parse ${(performance.now() - t0).toFixed(0)} ms`,
);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs fn over inputs `rounds` times after a warm-up; returns messages/s (median, min, max). */
function measure(inputs: string[], fn: (s: string) => unknown): { median: number; min: number; max: number } {
  let sink = 0;
  for (const s of inputs.slice(0, 20_000)) if (fn(s) !== null) sink++;
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (const s of inputs) if (fn(s) !== null) sink++;
    rates.push((inputs.length / (performance.now() - start)) * 1000);
  }
  if (sink < 0) console.log(sink); // keeps the results alive
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

const fmt = (r: { median: number; min: number; max: number }) =>
  `${Math.round(r.median).toLocaleString("en")} msg/s (min ${Math.round(r.min).toLocaleString("en")}, max ${Math.round(r.max).toLocaleString("en")})`;

console.log(`\nthroughput, median of ${rounds} rounds over the whole corpus:`);
console.log(`  cleanText   ${fmt(measure(texts, cleanText))}`);
console.log(`  preprocess  ${fmt(measure(texts, preprocess))}  (cleanText + detectLanguage)`);

// Dropped messages and language tags
const langs = new Map<string, number>();
const dropped: string[] = [];
for (const t of texts) {
  const r = preprocess(t);
  if (r === null) dropped.push(t);
  else langs.set(r.lang, (langs.get(r.lang) ?? 0) + 1);
}
const droppedWithText = dropped.filter((t) => t.length > 0);
console.log(
  `\ndropped as empty after cleaning: ${dropped.length} of ${texts.length} ` +
    `(${((100 * dropped.length) / texts.length).toFixed(2)}%; ${droppedWithText.length} of them had text)`,
);
const kinds = {
  "URL only": droppedWithText.filter((t) => /^\s*(\S*(:\/\/|www\.|\.[a-z]{2,}\/)\S*\s*)+$/i.test(t)).length,
  "with an emoji": droppedWithText.filter((t) => /\p{Extended_Pictographic}/u.test(t)).length,
};
console.log(
  `  of which ${Object.entries(kinds)
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ")}; the rest punctuation/symbols`,
);
const examples = [...new Set(droppedWithText)].slice(0, 12).map((t) => JSON.stringify(t.slice(0, 60)));
console.log(`  e.g. ${examples.join("  ")}`);

const total = texts.length - dropped.length;
const top = [...langs.entries()].sort((a, b) => b[1] - a[1]);
console.log(
  `\nlanguage tags (${top.length} distinct): ` +
    top
      .slice(0, 12)
      .map(([l, n]) => `${l} ${((100 * n) / total).toFixed(1)}%`)
      .join(", "),
);
