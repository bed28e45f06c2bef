/**
 * The gateway's API, route by route: each `/api<path>` forwards to the same `<path>` on the
 * service that owns the answer — or, for work that spans the services (forgetting a chat), is
 * answered by the gateway itself. The gateway registers its routes from this table and the API
 * client finds its URLs in it (through a gateway, or straight to the services). Plain data with no
 * schemas, so a web app's bundle can import it; the schemas are in schemas.ts.
 */

/** The services behind the gateway's API. */
export type Upstream = "storage" | "scraper";

export interface Endpoint {
  method: "GET" | "POST" | "DELETE";
  /** The upstream's path (Fastify syntax); the gateway serves it under API_PREFIX. */
  path: string;
  /** Who answers: a service behind the gateway (forwarded), or the gateway itself. */
  upstream: Upstream | "gateway";
}

export const API_PREFIX = "/api";

export const ENDPOINTS = {
  search: { method: "GET", path: "/search", upstream: "storage" },
  chats: { method: "GET", path: "/chats", upstream: "storage" },
  chat: { method: "GET", path: "/chats/:id", upstream: "storage" },
  chatStats: { method: "GET", path: "/chats/:id/stats", upstream: "storage" },
  messages: { method: "GET", path: "/chats/:id/messages", upstream: "storage" },
  forget: { method: "DELETE", path: "/chats/:id", upstream: "gateway" },
  scrape: { method: "POST", path: "/scrape", upstream: "scraper" },
  job: { method: "GET", path: "/jobs/:id", upstream: "scraper" },
  jobs: { method: "GET", path: "/jobs", upstream: "scraper" },
} as const satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof ENDPOINTS;

/** An endpoint's path with `:id` filled in as one path segment, whatever the id holds. */
export function endpointPath(name: EndpointName, id?: string): string {
  const { path } = ENDPOINTS[name];
  if (!path.includes(":id")) return path;
  if (id === undefined) throw new Error(`${name} needs an id`);
  return path.replace(":id", encodeURIComponent(id));
}
