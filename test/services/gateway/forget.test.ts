/**
 * The gateway forgets a chat everywhere: DELETE /api/chats/:id checks with storage that the chat
 * exists, asks on control-topic — the scraper and the preprocessor first, storage last — and
 * answers 200 with what each confirmed; 202 naming the services that did not answer in time; 502
 * when a service could not forget its part (storage then is not asked, so it keeps the chat and
 * asking again works); storage's 404 for an unknown chat, with nothing asked. The services here
 * are stand-ins on a memory bus (common/forget.ts, as the real ones use); the bot and the API
 * client get the same answers.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Subscription } from "../../../services/common/bus.ts";
import { loadConfig } from "../../../services/common/config.ts";
import { TglensError } from "../../../services/common/errors.ts";
import { followForgets } from "../../../services/common/forget.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../services/common/memory-bus.ts";
import type { ForgettingService } from "../../../services/common/schemas.ts";
import type { Service } from "../../../services/common/service.ts";
import { ApiClient } from "../../../services/gateway/api/client.ts";
import { formatForgotten } from "../../../services/gateway/bot/format.ts";
import { createGateway } from "../../../services/gateway/index.ts";
import { formatForget } from "../../../cli/format.ts";
import { rejectsWith } from "../../helpers/errors.ts";
import { fakeUpstream, type FakeUpstream } from "../../helpers/fake-upstream.ts";

const silent = createLogger({ level: "silent" });
const CHAT = { chat_id: "42", name: "Crew", type: "private_group", username: null, messages: 7, senders: 1, first_date: null, last_date: null };

describe("gateway: forgetting a chat everywhere", () => {
  let bus: MemoryBus;
  let storage: FakeUpstream;
  let gateway: Service;
  const running = new Map<ForgettingService, Subscription>();
  const failing = new Set<ForgettingService>();
  /** Which service was asked, in order. */
  const asked: string[] = [];
  const del = async (id: string) => {
    const res = await gateway.app.inject({ method: "DELETE", url: `/api/chats/${id}` });
    return { status: res.statusCode, body: res.json() };
  };

  /** A stand-in for `service`: it forgets (removing one file), or fails when told to. */
  async function run(service: ForgettingService): Promise<void> {
    const forget = async (chatId: string) => {
      asked.push(`${service}:${chatId}`);
      if (failing.has(service)) throw new TglensError("TGLENS_INTERNAL", "EACCES: permission denied");
      return { files: 1 };
    };
    running.set(service, await followForgets({ bus, service, log: silent, forget }));
  }

  before(async () => {
    bus = createMemoryBus();
    storage = await fakeUpstream((req) =>
      req.url === "/chats/42"
        ? { status: 200, body: CHAT }
        : { status: 404, body: { error: { code: "TGLENS_NOT_FOUND", message: `no chat ${req.url}` } } },
    );
    for (const service of ["scraper", "preprocessor", "storage"] as const) await run(service);
    gateway = await createGateway({ bus, log: silent, config: loadConfig({ TGLENS_STORAGE_URL: storage.url }), forgetWaitMs: 300 });
    await gateway.start();
  });

  after(async () => {
    await gateway.stop();
    await gateway.app.close();
    for (const s of running.values()) await s.close();
    await bus.close();
    await storage.close();
  });

  it("answers 200 with what each service confirmed, storage asked last", async () => {
    asked.length = 0;
    const res = await del("42");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      chat_id: "42",
      deleted: true,
      messages: 7,
      services: { scraper: { files: 1 }, preprocessor: { files: 1 }, storage: { files: 1 } },
      pending: [],
    });
    assert.equal(asked.at(-1), "storage:42");
    assert.deepEqual([...asked].sort(), ["preprocessor:42", "scraper:42", "storage:42"]);
  });

  it("answers 202 naming a service that did not answer in time, and still asks storage", async () => {
    // Down: it does not read control-topic now, and reads the request when it is back.
    await running.get("preprocessor")!.close();
    asked.length = 0;
    try {
      const res = await del("42");
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body.pending, ["preprocessor"]);
      assert.equal(res.body.deleted, false);
      assert.deepEqual(Object.keys(res.body.services).sort(), ["scraper", "storage"]);
      assert.match(formatForgotten("Crew", res.body), /Not confirmed yet by the preprocessor: it forgets the chat when back/);
      const cli = formatForget(res.body);
      assert.equal(cli.out, "forgot chat 42 (7 messages) in scraper and storage\n");
      assert.equal(cli.warning, "preprocessor has not confirmed yet: it forgets the chat when back\n");
    } finally {
      await run("preprocessor");
    }
  });

  it("answers 502 naming a service that could not forget, without asking storage", async () => {
    failing.add("scraper");
    asked.length = 0;
    try {
      const res = await del("42");
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "TGLENS_UPSTREAM");
      assert.match(
        res.body.error.message,
        /scraper could not forget it \(scraper: EACCES: permission denied \(TGLENS_INTERNAL\)\); storage keeps the chat/,
      );
      assert.deepEqual([...asked].sort(), ["preprocessor:42", "scraper:42"]);
    } finally {
      failing.delete("scraper");
    }
  });

  it("answers storage's 404 for an unknown chat, asking no service", async () => {
    asked.length = 0;
    const res = await del("777");
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "TGLENS_NOT_FOUND");
    assert.deepEqual(asked, []);
  });

  it("gives the API client the same answer through a gateway, and refuses a forget straight to the services", async () => {
    await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    const address = gateway.app.server.address() as { port: number };
    const answer = await new ApiClient({ gateway: `http://127.0.0.1:${address.port}` }).forget("42");
    assert.deepEqual([answer.deleted, answer.messages, answer.pending], [true, 7, []]);
    assert.equal(formatForgotten("Crew", answer), "Forgot <b>Crew</b>: 7 messages, its index and its files are gone.");
    assert.deepEqual(formatForget(answer), { out: "forgot chat 42 (7 messages)\n" });
    await rejectsWith(new ApiClient({ services: { storage: storage.url, scraper: storage.url } }).forget("42"), "TGLENS_CONFIG");
  });

  it("documents the 200 and the 202, and that the gateway answers it itself", async () => {
    const spec = (await gateway.app.inject({ url: "/openapi.json" })).json();
    const op = spec.paths["/api/chats/{id}"].delete;
    assert.deepEqual(Object.keys(op.responses), ["200", "202", "400", "401", "403", "404", "502", "503"]);
    assert.match(op.description, /Answered by the gateway\.$/);
    assert.ok(op.responses["202"].content["application/json"].schema.properties.pending);
    assert.ok(op.responses["200"].content["application/json"].schema.properties.services.properties.storage);
  });
});
