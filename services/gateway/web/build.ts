/**
 * Builds the web app's bundle: app/main.ts and everything it imports (Preact, htm, the typed API
 * client) into one minified ES module by esbuild, the stylesheet minified beside it, the page and
 * its icon copied; each then precompressed (gzip and brotli) so the gateway sends the small form.
 * Runs at install time (scripts/postinstall.sh → scripts/web-build.ts) and before the browser tests.
 */
import fs from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { build } from "esbuild";
import { BUNDLE_FILES, WEB_BUNDLE_DIR, WEB_SOURCE_DIR } from "./bundle.ts";

export interface BuiltFile {
  name: string;
  bytes: number;
  gzipBytes: number;
}

/** Browsers of the last few years: all of them run ES2022 modules. */
const TARGET = ["es2022", "chrome100", "firefox100", "safari15"];

export async function buildWebBundle(outDir: string = WEB_BUNDLE_DIR): Promise<BuiltFile[]> {
  // A fresh directory, so a file the sources no longer make is not served on.
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.mkdir(outDir, { recursive: true });
  const entry = (file: string, out: string) => ({ in: path.join(WEB_SOURCE_DIR, file), out: out.replace(/\.(js|css)$/, "") });
  await build({
    entryPoints: [entry("main.ts", BUNDLE_FILES.script), entry("app.css", BUNDLE_FILES.styles)],
    outdir: outDir,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: TARGET,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
  // Only the script's map is kept: the stylesheet is small and readable enough minified.
  await fs.rm(path.join(outDir, `${BUNDLE_FILES.styles}.map`), { force: true });
  for (const file of [BUNDLE_FILES.page, BUNDLE_FILES.icon]) await fs.copyFile(path.join(WEB_SOURCE_DIR, file), path.join(outDir, file));
  const built: BuiltFile[] = [];
  for (const name of Object.values(BUNDLE_FILES)) {
    const bytes = await fs.readFile(path.join(outDir, name));
    const gzip = zlib.gzipSync(bytes, { level: 9 });
    const brotli = zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    await fs.writeFile(path.join(outDir, `${name}.gz`), gzip);
    await fs.writeFile(path.join(outDir, `${name}.br`), brotli);
    built.push({ name, bytes: bytes.length, gzipBytes: gzip.length });
  }
  return built;
}
