/**
 * Where the web app's sources are and where its bundle goes: the build (build.ts, run at install
 * time) writes the bundle there and the gateway (plugin.ts) serves it from there. The bundle is
 * made on each machine from the sources, so it lives under the git-ignored .cache/.
 */
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../../..");

/** The browser code: app/main.ts and what it imports, the page, its stylesheet and icon. */
export const WEB_SOURCE_DIR = path.join(import.meta.dirname, "app");

/** Where the built files are served from. */
export const WEB_BUNDLE_DIR = path.join(ROOT, ".cache", "web");

/** The files of a bundle, as the page asks for them (each also served .gz and .br when the browser takes them). */
export const BUNDLE_FILES = {
  page: "index.html",
  script: "app.js",
  styles: "app.css",
  icon: "icon.svg",
} as const;

/** The script's source map: served beside it for the browser's developer tools, not compressed. */
export const SOURCE_MAP = `${BUNDLE_FILES.script}.map`;
