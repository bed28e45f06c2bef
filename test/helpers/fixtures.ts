/**
 * Where the fixture exports are. The team chat is the demo chat that `tglens serve` imports on its
 * first start: one copy, demo/result.json, written by test/fixtures/exports/build_fixtures.py like
 * the others; expectations.json still names it "team-chat/result.json".
 */
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const FIXTURE_EXPORTS = path.join(ROOT, "test/fixtures/exports");
export const TEAM_CHAT_EXPORT = path.join(ROOT, "demo/result.json");

/** The file of a fixture export, by the name expectations.json gives it. */
export function fixtureExport(name: string): string {
  return name === "team-chat/result.json" ? TEAM_CHAT_EXPORT : path.join(FIXTURE_EXPORTS, name);
}
