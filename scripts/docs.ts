/**
 * Keeps the README's reference tables in step with the code: the error codes (from the error
 * registry) and the settings (from the config table). `node scripts/docs.ts` rewrites them;
 * test/scripts/docs.test.ts fails when they drift.
 */
import fs from "node:fs";
import { ERROR_CODES } from "../services/common/errors.ts";
import { settingsTable } from "../services/common/config.ts";

export function errorCodesTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.retryable ? "yes" : "no"} | ${spec.description} |`);
  return ["| code | HTTP | retry helps | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

export function settingsMarkdown(): string {
  const rows = settingsTable().map((s) => `| \`${s.env}\` | ${s.default === undefined ? "–" : `\`${s.default}\``} | ${s.description.replaceAll("|", "\\|")} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

export function fillSection(doc: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README has no ${name} section`);
  return doc.slice(0, from + start.length) + "\n" + content + "\n" + doc.slice(to);
}

export function renderReadme(doc: string): string {
  return fillSection(fillSection(doc, "error-codes", errorCodesTable()), "settings", settingsMarkdown());
}

if (import.meta.main) {
  const doc = fs.readFileSync("README.md", "utf8");
  fs.writeFileSync("README.md", renderReadme(doc));
}
