/**
 * Temporary directories for tests. The runner removes them when the test (or the file) that made
 * them ends, as platformatic/kafka's test helpers register each client's close in `t.after`: a
 * test does not remove its own, so one that fails halfway leaves nothing behind either.
 */
import { mkdtempSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, type TestContext } from "node:test";

const template = (prefix: string) => path.join(os.tmpdir(), `tglens-${prefix}-`);
const remove = (dir: string) => rmSync(dir, { recursive: true, force: true });

/** A fresh directory tglens-<prefix>-XXXXXX under the OS temp directory, for a caller that removes it itself. */
export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(template(prefix));
}

/** A fresh temp directory, removed when test `t` ends. */
export function testDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(template(prefix));
  t.after(() => remove(dir));
  return dir;
}

/** A maker of fresh temp directories for one test file, all removed after the file's tests (call it at module level). */
export function scratchDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => dirs.forEach(remove));
  return () => {
    const dir = mkdtempSync(template(prefix));
    dirs.push(dir);
    return dir;
  };
}
