/**
 * The gateway's /api routes: one per endpoint (endpoints.ts), each forwarding to its service and
 * documented with that service's schemas (schemas.ts) — except forgetting a chat, which the
 * gateway does itself (../forget.ts). Validation is left to the service, so a bad parameter gets
 * the very answer the service gives; the gateway only checks the caller's rights
 * (common/access.ts, before any route) and that an import has a body at all.
 */
import type { Readable } from "node:stream";
import type { Static } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Config } from "../../common/config.ts";
import { TglensError } from "../../common/errors.ts";
import { documentedOnly } from "../../common/http.ts";
import { API_PREFIX, ENDPOINTS, endpointPath, type EndpointName, type Upstream } from "./endpoints.ts";
import { forward, type ForwardTarget } from "./forward.ts";
import { routeSchema, type ForgetAnswer } from "./schemas.ts";

export interface ApiRoutesDeps {
  urls: Pick<Config["urls"], Upstream>;
  /** The token the services are called with (the gateway's admin token), if any. */
  token: string | undefined;
  /** Largest import body (TGLENS_MAX_UPLOAD_BYTES). */
  maxUploadBytes: number;
  /** Forgets a chat in every service (../forget.ts forgetEverywhere). */
  forget: (chatId: string) => Promise<ForgetResult>;
}

type ForgetResult = Static<typeof ForgetAnswer>;

type Forwarded = Exclude<EndpointName, "scrape" | "forget">;

export async function registerApiRoutes(app: FastifyInstance, deps: ApiRoutesDeps): Promise<void> {
  const target = (name: Forwarded | "scrape", req: FastifyRequest): ForwardTarget => ({
    baseUrl: deps.urls[ENDPOINTS[name].upstream],
    path: endpointPath(name, (req.params as { id?: string }).id),
    token: deps.token,
  });
  const route = (name: EndpointName) => ({
    method: ENDPOINTS[name].method,
    url: API_PREFIX + ENDPOINTS[name].path,
    schema: routeSchema(name),
    validatorCompiler: documentedOnly,
  });

  for (const name of Object.keys(ENDPOINTS) as EndpointName[]) {
    if (name === "scrape" || name === "forget") continue;
    app.route({ ...route(name), handler: (req, reply) => forward(req, reply, target(name, req)) });
  }

  app.route({
    ...route("forget"),
    handler: async (req, reply) => {
      const answer = await deps.forget((req.params as { id: string }).id);
      return reply.status(answer.pending.length > 0 ? 202 : 200).send(answer);
    },
  });

  await app.register(async (scope) => {
    // Imports can be large: the body streams through to the scraper without being buffered here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", (_req, payload, done) => done(null, payload));
    scope.route({
      ...route("scrape"),
      bodyLimit: deps.maxUploadBytes,
      handler: (req, reply) => {
        if (req.body === undefined || req.headers["content-length"] === "0") {
          throw new TglensError("TGLENS_BAD_JSON", 'the request has no body: send the export, or {"export_path"} or {"chat"}, as JSON');
        }
        return forward(req, reply, target("scrape", req), req.body as Readable);
      },
    });
  });
}
