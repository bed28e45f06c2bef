/**
 * The web bundle: one minified ES module with everything it imports (no bare import left for the
 * browser to resolve), the stylesheet, page and icon beside it, each precompressed, and what the
 * build reports is what it wrote.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { buildWebBundle } from "../../../../services/gateway/web/build.ts";
import { BUNDLE_FILES, SOURCE_MAP } from "../../../../services/gateway/web/bundle.ts";
import { scratchDirs } from "../../../helpers/temp.ts";

const scratch = scratchDirs("web-build");

describe("web app: build", () => {
  it("writes the bundle, precompressed, and reports each file's sizes", async () => {
    const dir = scratch();
    await fs.writeFile(path.join(dir, "stale.js"), "left from an earlier build");
    const built = await buildWebBundle(dir);
    assert.deepEqual(built.map((f) => f.name).sort(), Object.values(BUNDLE_FILES).sort());
    const files = await fs.readdir(dir);
    assert.ok(!files.includes("stale.js"), "an earlier build's files are gone");
    assert.ok(files.includes(SOURCE_MAP));
    for (const f of built) {
      const plain = await fs.readFile(path.join(dir, f.name));
      assert.equal(plain.length, f.bytes, f.name);
      const gzip = await fs.readFile(path.join(dir, `${f.name}.gz`));
      assert.equal(gzip.length, f.gzipBytes, f.name);
      assert.deepEqual(zlib.gunzipSync(gzip), plain, f.name);
      assert.deepEqual(zlib.brotliDecompressSync(await fs.readFile(path.join(dir, `${f.name}.br`))), plain, f.name);
    }
  });

  it("bundles every import into one small module", async () => {
    const dir = scratch();
    const built = await buildWebBundle(dir);
    const script = await fs.readFile(path.join(dir, BUNDLE_FILES.script), "utf8");
    assert.doesNotMatch(script, /(^|[;}])\s*import\s*[\w{*"']/, "no import statement is left");
    assert.doesNotMatch(script, /\bnode:|\brequire\(/, "no Node-only code");
    assert.match(script, /\/api/, "it calls the API");
    const gzipped = built.find((f) => f.name === BUNDLE_FILES.script)!.gzipBytes;
    assert.ok(gzipped < 64 * 1024, `app.js is ${gzipped} bytes gzipped`);
  });
});
