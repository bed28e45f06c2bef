import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus, type MemoryBus } from "../../../services/common/memory-bus.ts";
import type { Service } from "../../../services/common/service.ts";
import { createPreprocessor } from "../../../services/preprocessor/index.ts";
import { collector, rawMessage } from "../common/bus-contract.ts";
import { askToForget } from "../../helpers/forget.ts";
import { tempDir } from "../../helpers/system.ts";

describe("preprocessor service", () => {
  let bus: MemoryBus;
  let service: Service;
  let dataDir: string;
  before(async () => {
    bus = createMemoryBus();
    dataDir = await tempDir("pre");
    service = await createPreprocessor({ bus, log: createLogger({ level: "silent" }), config: { dataDir, maxBodyBytes: 1 << 20 } });
    await service.start();
  });
  after(async () => {
    await service.stop();
    await bus.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("cleans texts over HTTP, null for what cleaning empties", async () => {
    const res = await service.app.inject({
      method: "POST",
      url: "/preprocess",
      payload: { texts: ["Check https://example.com 🎉 Привет, мир!", "🎉🎉"] },
    });
    assert.equal(res.statusCode, 200);
    const [first, second] = res.json().results;
    assert.doesNotMatch(first.clean_text, /example|🎉/);
    assert.match(first.clean_text, /Привет, мир/);
    assert.equal(second.clean_text, null);
  });

  it("refuses a body without texts, naming the field", async () => {
    const res = await service.app.inject({ method: "POST", url: "/preprocess", payload: { text: "x" } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, "TGLENS_BAD_REQUEST");
    assert.match(res.json().error.message, /texts/);
  });

  it("passes cleaned messages on, drops and counts empty ones, writes each once to data/preprocessed", async () => {
    const embed = collector<"embed-topic">(2);
    const jobs = collector<"job-topic">(2);
    await bus.subscribe("embed-topic", "test-embed", embed.handler);
    await bus.subscribe("job-topic", "test-jobs", jobs.handler);
    const messages = [rawMessage("77", 1, "Booked the hall 🎉 https://x.y/z"), rawMessage("77", 2, "👍"), rawMessage("77", 3, "Ça va? Très bien")];
    const items = messages.map((message) => ({ key: "77", message }));
    await bus.publishMany("preprocess-topic", items);
    await embed.done;
    // Keyed per message, so they may sit on different partitions: order across them is not promised.
    const passed = [...embed.seen].sort((a, b) => a.message.message_id - b.message.message_id);
    assert.deepEqual(
      passed.map((d) => d.message.message_id),
      [1, 3],
    );
    assert.deepEqual(
      passed.map((d) => d.meta.key),
      ["77:1", "77:3"],
      "embed-topic is keyed by chat and message",
    );
    assert.equal(passed[0]!.message.text, messages[0]!.text, "original text travels on");
    assert.doesNotMatch(passed[0]!.message.clean_text, /🎉|https/);
    await bus.publishMany("preprocess-topic", items);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const totals = { cleaned: 0, dropped: 0 };
    for (const d of jobs.seen) for (const [k, n] of Object.entries(d.message.add)) totals[k as keyof typeof totals] += n;
    assert.deepEqual(totals, { cleaned: 4, dropped: 2 });
    // Each report names its messages, so the job book can count the redelivery once.
    const named = jobs.seen.flatMap((d) =>
      Object.entries(d.message.ids ?? {}).flatMap(([k, chats]) => (chats["77"] ?? []).map((id) => `${k}:${id}`)),
    );
    assert.deepEqual([...new Set(named)].sort(), ["cleaned:1", "cleaned:3", "dropped:2"]);
    const lines = (await fs.readFile(path.join(dataDir, "preprocessed", "77.jsonl"), "utf8")).trim().split("\n");
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).message_id),
      [1, 3],
      "redelivery adds no lines",
    );
  });

  it("forgets a chat's file when asked on control-topic, confirms, and writes it afresh when the chat comes again", async () => {
    const embed = collector<"embed-topic">(1);
    await bus.subscribe("embed-topic", "test-embed-78", embed.handler);
    await bus.publish("preprocess-topic", rawMessage("78", 1, "Another chat's message"), { key: "78" });
    await embed.done;
    const file = (chat: string) => path.join(dataDir, "preprocessed", `${chat}.jsonl`);
    const answer = await askToForget(bus, "preprocessor", "77");
    assert.deepEqual(answer.kind === "forgotten" && answer.removed, { files: 1 });
    await assert.rejects(fs.stat(file("77")), { code: "ENOENT" });
    assert.ok((await fs.stat(file("78"))).size > 0, "another chat's file stays");
    const again = await askToForget(bus, "preprocessor", "77");
    assert.deepEqual(again.kind === "forgotten" && again.removed, { files: 0 });
    // Imported again after the forget, its messages are written again (the remembered ids went with the file).
    await bus.publish("preprocess-topic", rawMessage("77", 1, "Booked the hall 🎉 https://x.y/z"), { key: "77" });
    const deadline = Date.now() + 10_000;
    while (!(await fs.stat(file("77")).catch(() => undefined))) {
      assert.ok(Date.now() < deadline, "the chat's file is written again");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await fs.readFile(file("77"), "utf8")).trim().split("\n").length, 1);
  });
});
