/**
 * OpenAPI documents `npm run fuzz` makes beside the services' own. The upload routes (scraper
 * POST /scrape, gateway POST /api/scrape) take the body as a stream, so their schemas describe no
 * request body and schemathesis would only ever send none; here they get one: an export (one
 * chat, or a full account), `{"export_path"}` or `{"chat"}`. And the gateway's /api routes, whose
 * own document describes no parameters, are fuzzed through the storage and scraper schemas they
 * forward to, with /api prefixed.
 */

type Spec = { openapi: string; info: unknown; paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, unknown> } };

const text = {
  anyOf: [
    { type: "string" },
    {
      type: "array",
      maxItems: 4,
      items: {
        anyOf: [
          { type: "string" },
          {
            type: "object",
            properties: {
              type: { type: "string", enum: ["plain", "bold", "link", "text_link", "mention"] },
              text: { type: "string" },
              href: { type: "string" },
            },
          },
        ],
      },
    },
  ],
};

const message = {
  type: "object",
  required: ["id", "type", "date", "date_unixtime", "text"],
  properties: {
    id: { type: "integer" },
    type: { type: "string", enum: ["message", "service"] },
    date: { type: "string", example: "2024-01-08T19:05:09" },
    date_unixtime: { type: "string", pattern: "^[0-9]{1,14}$", example: "1704740709" },
    edited_unixtime: { type: "string", pattern: "^[0-9]{1,14}$" },
    from: { type: "string", nullable: true },
    from_id: { type: "string", example: "user5566778" },
    reply_to_message_id: { type: "integer" },
    forwarded_from: { type: "string" },
    media_type: { type: "string" },
    text,
  },
};

const chatExport = {
  type: "object",
  required: ["name", "type", "id", "messages"],
  properties: {
    name: { type: "string" },
    type: { type: "string", enum: ["personal_chat", "private_group", "private_supergroup", "public_supergroup", "public_channel", "saved_messages"] },
    id: { anyOf: [{ type: "integer" }, { type: "string" }] },
    messages: { type: "array", maxItems: 6, items: message },
  },
};

export const UPLOAD_BODY = {
  description: "A Telegram Desktop export (one chat or a full account), an export_path under TGLENS_IMPORT_DIR, or a live read",
  required: true,
  content: {
    "application/json": {
      schema: {
        anyOf: [
          chatExport,
          {
            type: "object",
            required: ["chats"],
            properties: { chats: { type: "object", required: ["list"], properties: { list: { type: "array", maxItems: 2, items: chatExport } } } },
          },
          { type: "object", required: ["export_path"], properties: { export_path: { type: "string", example: "fuzz-small.json" } } },
          { type: "object", required: ["chat"], properties: { chat: { type: "string" }, limit: { type: "integer" }, since: { type: "string" } } },
        ],
      },
    },
  },
};

/** `spec` with only the upload route at `route`, given UPLOAD_BODY. */
export function uploadSpec(spec: Spec, route: string): Spec {
  const op = spec.paths[route]?.post;
  if (!op) throw new Error(`the schema has no POST ${route}`);
  return { ...spec, paths: { [route]: { post: { ...op, requestBody: UPLOAD_BODY } } } };
}

/** Renames #/components/schemas/<x> to <prefix><x> throughout, so two services' documents can merge. */
function prefixComponents(spec: Spec, prefix: string): Spec {
  const text = JSON.stringify(spec).replaceAll('"#/components/schemas/', `"#/components/schemas/${prefix}`);
  const out = JSON.parse(text) as Spec;
  out.components = { schemas: Object.fromEntries(Object.entries(out.components?.schemas ?? {}).map(([k, v]) => [prefix + k, v])) };
  return out;
}

/**
 * The gateway's /api routes as the upstream schemas describe them: storage's /search and /chats…,
 * scraper's /scrape (with UPLOAD_BODY) and /jobs…, each under /api.
 */
export function gatewayApiSpec(gateway: Spec, storage: Spec, scraper: Spec): Spec {
  const forwarded = new Set(Object.keys(gateway.paths).filter((p) => p.startsWith("/api/")));
  const paths: Spec["paths"] = {};
  const schemas: Record<string, unknown> = {};
  for (const [prefix, upstream] of [
    ["storage-", storage],
    ["scraper-", scraper],
  ] as const) {
    const renamed = prefixComponents(upstream, prefix);
    Object.assign(schemas, renamed.components?.schemas);
    for (const [route, ops] of Object.entries(renamed.paths)) {
      const api = `/api${route}`;
      if (!forwarded.has(api)) continue;
      paths[api] = route === "/scrape" ? { post: { ...ops.post, requestBody: UPLOAD_BODY } } : ops;
    }
  }
  return { openapi: gateway.openapi, info: gateway.info, paths, components: { schemas } };
}
