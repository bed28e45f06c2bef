import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { renderReadme } from "../../scripts/docs.ts";

it("README's error-code and settings tables match the code (run `node scripts/docs.ts` to update)", () => {
  const doc = fs.readFileSync("README.md", "utf8");
  assert.equal(renderReadme(doc), doc);
});
