/**
 * Bench input from a Telegram Desktop export (the shared Ubuntu IRC corpus by default): its
 * messages, and the texts tglens would embed from them.
 */
import { readFile } from "node:fs/promises";
import { preprocess } from "../../services/preprocessor/clean.ts";
import { flattenText } from "../../services/scraper/export-mapping.ts";

export const DEFAULT_CORPUS = "../shared/data/ubuntu-irc-train.json";

export interface ExportMessage {
  id: number;
  type: string;
  text: unknown;
  date_unixtime?: string;
  from?: string | null;
  from_id?: string;
}

/** The `messages` of a single-chat export, parsed whole (the IRC corpus is 73 MB: fine for a bench). */
export async function readExportMessages(path: string): Promise<ExportMessage[]> {
  return (JSON.parse(await readFile(path, "utf8")) as { messages: ExportMessage[] }).messages;
}

/**
 * The cleaned texts of the first messages, in order, as the pipeline produces them: only
 * `type: "message"` entries (service messages are skipped by the scraper), text flattened as the
 * scraper does, then tglens's own `preprocess`; a message left without a letter or digit is dropped,
 * as the preprocessor drops it. Stops after `limit` texts. The IRC corpus: 196,123 messages give
 * 193,854 texts.
 */
export function cleanedTexts(messages: Iterable<ExportMessage>, limit = Infinity): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (out.length >= limit) break;
    if (m.type !== "message") continue;
    const text = flattenText(m.text);
    const clean = text ? preprocess(text)?.clean_text : undefined;
    if (clean) out.push(clean);
  }
  return out;
}
