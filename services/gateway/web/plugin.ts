/**
 * Serves the web app from the gateway: the page at each of its addresses (app/lib/pages.ts), its
 * script, stylesheet and icon, built into the bundle directory at install time (build.ts), sent
 * precompressed when the browser takes gzip or brotli. These routes carry no data, so they need
 * no API token (the Host check still applies, common/access.ts); the page then calls /api with
 * the token. The page's Content-Security-Policy lets it load and call only its own origin.
 */
import fs from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import { TglensError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import { PAGES } from "./app/lib/pages.ts";
import { BUNDLE_FILES, SOURCE_MAP, WEB_BUNDLE_DIR } from "./bundle.ts";

export interface WebAppOptions {
  log: Logger;
  /** Where the bundle is (default: WEB_BUNDLE_DIR). */
  dir?: string;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const NOT_BUILT = "the web app is not built: run `npm run web:build` (npm install runs it too)";

export async function registerWebApp(app: FastifyInstance, opts: WebAppOptions): Promise<void> {
  const dir = opts.dir ?? WEB_BUNDLE_DIR;
  const page = path.join(dir, BUNDLE_FILES.page);
  if (!fs.existsSync(page)) opts.log.warn({ dir }, NOT_BUILT);

  await app.register(async (scope) => {
    // Only reply.sendFile: the routes are this plugin's, each declared public.
    await scope.register(fastifyStatic, { root: dir, serve: false, preCompressed: true, suppressWarning: true, maxAge: 0 });
    const send = (reply: FastifyReply, file: string) => {
      if (!fs.existsSync(path.join(dir, file))) throw new TglensError("TGLENS_NOT_READY", NOT_BUILT);
      return reply.headers(HEADERS).sendFile(file);
    };
    const route = { config: { access: "public" as const }, schema: { hide: true } };
    for (const at of Object.values(PAGES)) scope.get(at, route, (_req, reply) => send(reply, BUNDLE_FILES.page));
    for (const file of [BUNDLE_FILES.script, BUNDLE_FILES.styles, BUNDLE_FILES.icon, SOURCE_MAP]) {
      scope.get(`/${file}`, route, (_req, reply) => send(reply, file));
    }
  });
}
