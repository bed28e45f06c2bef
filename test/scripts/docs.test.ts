import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { GENERATED_DOCS } from "../../scripts/docs.ts";

for (const { path, render } of GENERATED_DOCS) {
  it(`${path}'s generated tables match the code (run \`node scripts/docs.ts\` to update)`, () => {
    const doc = fs.readFileSync(path, "utf8");
    assert.equal(render(doc), doc);
  });
}

it("every relative link in README.md and docs/ points at a file that exists", () => {
  for (const file of ["README.md", ...fs.readdirSync("docs").map((f) => `docs/${f}`)]) {
    const dir = file.includes("/") ? "docs" : ".";
    for (const [, target] of fs.readFileSync(file, "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      assert.ok(fs.existsSync(`${dir}/${target}`), `${file} links to ${target}, which does not exist`);
    }
  }
});
