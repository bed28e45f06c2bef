/**
 * Crash-safe file replacement: write to `<path>.tmp-<pid>`, fsync it, rename over `path`, fsync the
 * directory. After a crash at any point the path holds either the old or the new content, whole;
 * at worst a stray temp file is left, which `removeStaleTemps` clears on the next open.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const TMP_MARK = ".tmp-";

export function tempPathFor(path: string): string {
  return `${path}${TMP_MARK}${process.pid}`;
}

export function fsyncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` atomically with whatever `write(tmpPath)` produced (it must create the file).
 * `syncDir: false` lets a caller that replaces several files fsync the directory once at the end.
 */
export function replaceFileAtomic(path: string, write: (tmpPath: string) => void, syncDir = true): void {
  const tmp = tempPathFor(path);
  try {
    write(tmp);
    fsyncFile(tmp);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (syncDir) fsyncDir(dirname(path));
}

export function writeFileAtomic(path: string, data: string | Uint8Array, syncDir = true): void {
  replaceFileAtomic(
    path,
    (tmp) => {
      const fd = openSync(tmp, "w");
      try {
        const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      } finally {
        closeSync(fd);
      }
    },
    syncDir,
  );
}

/** Deletes `path` if present, then fsyncs its directory so the deletion is durable. */
export function unlinkDurable(paths: readonly string[]): void {
  let any = false;
  for (const p of paths) {
    try {
      unlinkSync(p);
      any = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  if (any && paths[0] !== undefined) fsyncDir(dirname(paths[0]));
}

/** Removes temp files a crash may have left in `dir`. Returns their names. */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.includes(TMP_MARK)) {
      rmSync(join(dir, name), { force: true });
      removed.push(basename(name));
    }
  }
  return removed;
}
