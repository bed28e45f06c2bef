import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TGLENS_VERSION } from "../../../services/common/service.ts";

const root = path.resolve(import.meta.dirname, "../../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };

describe("the version", () => {
  it("is package.json's", () => {
    assert.match(pkg.version, /^\d+\.\d+\.\d+/);
    assert.equal(TGLENS_VERSION, pkg.version);
  });

  it("is what `tglens --version` prints", () => {
    assert.equal(execFileSync(process.execPath, [path.join(root, "cli/tglens.ts"), "--version"], { encoding: "utf8" }).trim(), pkg.version);
  });

  it("is written nowhere else in the product (services, CLI, scripts, deploy)", () => {
    const literal = new RegExp(`["'\`]v?${pkg.version.replaceAll(".", "\\.")}["'\`]`);
    const sources = (dir: string): string[] =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(rel);
        return /\.(ts|js|mjs|sh|ya?ml)$|^Dockerfile/.test(e.name) || rel === "bin/tglens" ? [rel] : [];
      });
    const files = ["services", "cli", "scripts", "deploy", "bin"].flatMap(sources);
    assert.ok(files.includes("services/common/service.ts"));
    const copies = files.filter((f) => literal.test(fs.readFileSync(path.join(root, f), "utf8")));
    assert.deepEqual(copies, []);
  });
});
