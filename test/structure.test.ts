/**
 * The test tree mirrors the source tree: test/<path>.test.ts tests services/<path>.ts or
 * cli/<path>.ts, and test/<path>.<aspect>.test.ts one side of it kept in a file of its own
 * (`kafka`: needs a real broker; `crash`: kill -9 runs). Tests that span the system live in e2e/,
 * scripts/ and deploy/; helpers/ and fixtures/ hold what tests share. Tests that need a real Kafka
 * broker are named *.kafka.test.ts, so `npm run test:kafka` runs them alone and `npm run test:unit` skips them.
 * And no line of TypeScript is longer than prettier's printWidth, strings and comments included.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Test files that mirror no source file yet, and where each belongs; an entry goes when its file moves. */
const NOT_YET_MOVED: Record<string, string> = {};

/** What starts a broker: test/helpers/kafka.ts's shared one, or test/helpers/distributed.ts's of a test's own. */
const STARTS_A_BROKER = /\buseSharedBroker\(|\bnew TestBroker\(|\bkafkaScript\("start"/;

/** Prettier's printWidth; it cannot wrap a string, a template literal or a comment, so this checks them. */
const MAX_LINE = 150;
const LINE_CHECKED = ["services", "cli", "scripts", "bench", "test"];

const glob = (pattern: string) => fs.globSync(pattern, { cwd: ROOT }).map((f) => f.split(path.sep).join("/"));
const exists = (file: string) => fs.existsSync(path.join(ROOT, file));

/** The source file a test mirrors (test/a/b.test.ts, or test/a/b.<aspect>.test.ts, → a/b.ts), if it exists. */
function mirroredSource(testFile: string): string | undefined {
  const base = testFile.replace(/^test\//, "").replace(/\.test\.ts$/, "");
  const aspect = /^(.+)\.[a-z0-9-]+$/.exec(base);
  return [`${base}.ts`, ...(aspect ? [`${aspect[1]}.ts`] : [])].find(exists);
}

describe("test tree", () => {
  const mirroring = glob("test/{services,cli}/**/*.test.ts");

  it("has a source file at the mirrored path of every test under test/services and test/cli", () => {
    const orphans = mirroring.filter((f) => !(f in NOT_YET_MOVED) && mirroredSource(f) === undefined);
    assert.deepEqual(orphans, [], "move each to test/<source path>.test.ts (or .<aspect>.test.ts), or give it the source it tests");
  });

  it("lists only files that still need moving", () => {
    const stale = Object.keys(NOT_YET_MOVED).filter((f) => !exists(f) || mirroredSource(f) !== undefined);
    assert.deepEqual(stale, [], "remove these from NOT_YET_MOVED");
  });

  it("names every test that starts a Kafka broker *.kafka.test.ts, and only those", () => {
    const all = glob("test/**/*.test.ts");
    const startsBroker = (f: string) => STARTS_A_BROKER.test(fs.readFileSync(path.join(ROOT, f), "utf8"));
    assert.deepEqual(
      all.filter((f) => startsBroker(f) !== f.endsWith(".kafka.test.ts")),
      [],
      "a test that needs a broker is named *.kafka.test.ts; one named so needs a broker",
    );
  });
});

describe("source lines", () => {
  it(`are at most ${MAX_LINE} characters in ${LINE_CHECKED.join(", ")}`, () => {
    const long = glob(`{${LINE_CHECKED.join(",")}}/**/*.ts`).flatMap((f) =>
      fs
        .readFileSync(path.join(ROOT, f), "utf8")
        .split("\n")
        .flatMap((line, i) => ([...line].length > MAX_LINE ? [`${f}:${i + 1} (${[...line].length})`] : [])),
    );
    assert.deepEqual(long, [], "split these lines (prettier wraps code, not strings or comments)");
  });
});
