/**
 * Keeps the reference tables in docs/ in step with the code: the error codes (from the error
 * registry) in docs/api.md and the settings (from the config table) in docs/configuration.md.
 * `node scripts/docs.ts` rewrites them; test/scripts/docs.test.ts fails when they drift.
 */
import fs from "node:fs";
import { ERROR_CODES } from "../services/common/errors.ts";
import { settingsTable } from "../services/common/config.ts";

export function errorCodesTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.retryable ? "yes" : "no"} | ${spec.description} |`,
  );
  return ["| code | HTTP | retry helps | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

export function settingsMarkdown(): string {
  const rows = settingsTable().map(
    (s) => `| \`${s.env}\` | ${s.default === undefined ? "–" : `\`${s.default}\``} | ${s.description.replaceAll("|", "\\|")} |`,
  );
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

export function fillSection(doc: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no ${name} section`);
  return doc.slice(0, from + start.length) + "\n" + content + "\n" + doc.slice(to);
}

/** Each generated document: its path and how its generated sections are filled. */
export const GENERATED_DOCS: readonly { path: string; render(doc: string): string }[] = [
  { path: "docs/api.md", render: (doc) => fillSection(doc, "error-codes", errorCodesTable()) },
  { path: "docs/configuration.md", render: (doc) => fillSection(doc, "settings", settingsMarkdown()) },
];

if (import.meta.main) {
  for (const { path, render } of GENERATED_DOCS) fs.writeFileSync(path, render(fs.readFileSync(path, "utf8")));
}
