/**
 * The Kafka bus against a real broker: the shared contract suite, then what only Kafka has (topics
 * created with their partition count, no auto-created topics, a consumer group split across two
 * bus instances, surviving a broker restart).
 *
 * The broker on 127.0.0.1:9092 (KAFKA_PORT) is started with scripts/kafka.sh if nothing listens
 * there, and stopped afterwards only if this file started it. The restart test stops and starts a
 * broker, so it uses one of its own on KAFKA_TEST_RESTART_PORT (default 19092): never one that other
 * test runs on this machine may be using. Every test uses fresh topic names (a prefix) and groups.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Admin, Producer } from "@platformatic/kafka";
import { createKafkaBus, type KafkaBus, type KafkaBusOptions } from "../../../../services/common/kafka/index.ts";
import { TOPIC_NAMES, type DeadLetter, type Topic } from "../../../../services/common/schemas.ts";
import { busContract, collector, rawMessage } from "../bus-contract.ts";
import { inspectKafka } from "../../../helpers/bus-inspect.ts";
import { kafkaScript } from "../../../helpers/distributed.ts";
import { deleteByPrefix, KAFKA_BROKERS, useSharedBroker } from "../../../helpers/kafka.ts";

const RESTART_PORT = Number(process.env.KAFKA_TEST_RESTART_PORT ?? 19092);
const BROKERS = KAFKA_BROKERS;
const RUN = `t${Date.now().toString(36)}`;

const createdPrefixes: { prefix: string; brokers: string[] }[] = [];
let prefixes = 0;

function freshPrefix(brokers = BROKERS): string {
  const prefix = `${RUN}${++prefixes}-`;
  createdPrefixes.push({ prefix, brokers });
  return prefix;
}

async function newBus(prefix: string, extra: Partial<KafkaBusOptions> = {}): Promise<KafkaBus> {
  return createKafkaBus({
    brokers: BROKERS,
    clientId: `tglens-test-${prefix.slice(0, -1)}`,
    topicPrefix: prefix,
    retryBaseMs: 5,
    maxAttempts: 3,
    startTimeoutMs: 20_000,
    ...extra,
  });
}

const deleteTopics = (prefix: string, brokers: string[]) => deleteByPrefix(brokers, { topics: [prefix] });

useSharedBroker(() => deleteByPrefix(BROKERS, { topics: createdPrefixes.filter((p) => p.brokers === BROKERS).map((p) => p.prefix) }));

busContract("kafka", async () => {
  const prefix = freshPrefix();
  const bus = await newBus(prefix);
  const inspect = inspectKafka({ brokers: BROKERS, topicPrefix: prefix });
  let n = 0;
  return {
    bus,
    injectRaw: (topic, key, payload) => bus.injectRaw(topic, key, payload),
    deadLetters: (topic) => inspect.deadLetters(topic),
    group: (name) => `${prefix}${name}-${++n}`,
    close: async () => {
      await Promise.all([bus.close(), inspect.close()]);
      await deleteTopics(prefix, BROKERS);
    },
  };
});

describe("kafka bus", { timeout: 150_000 }, () => {
  it("creates every topic and its .dlq with the configured partition count, and starts again on existing topics", async () => {
    const prefix = freshPrefix();
    const bus = await newBus(prefix, { partitions: 4 });
    const again = await newBus(prefix, { partitions: 4 });
    const admin = new Admin({ clientId: "tglens-test-admin", bootstrapBrokers: BROKERS });
    try {
      const names = TOPIC_NAMES.flatMap((t) => [bus.wireTopic(t), bus.wireTopic(`${t}.dlq`)]);
      assert.deepEqual([...TOPIC_NAMES].sort(), ["control-topic", "embed-topic", "job-topic", "preprocess-topic", "scrape-topic", "store-topic"]);
      assert.equal(names.length, 12);
      const md = await admin.metadata({ topics: names, forceUpdate: true });
      for (const name of names) assert.equal(md.topics.get(name)?.partitionsCount, 4, name);
      assert.equal(bus.partitions, 4);
      assert.equal(await again.ready(), true);
    } finally {
      await admin.close();
      await Promise.all([bus.close(), again.close()]);
    }
  });

  it("cannot publish to a topic it did not create: a typo fails, and the broker creates nothing", async () => {
    const prefix = freshPrefix();
    const bus = await newBus(prefix);
    const producer = new Producer({ clientId: "tglens-test-raw", bootstrapBrokers: BROKERS, retries: 0, autocreateTopics: true });
    const admin = new Admin({ clientId: "tglens-test-admin", bootstrapBrokers: BROKERS });
    try {
      const typo = "preprocess-topik" as Topic;
      const unknown = { code: "TGLENS_SCHEMA", message: /unknown topic "preprocess-topik"/ };
      await assert.rejects(bus.publish(typo, rawMessage("1", 1), { key: "1" }), unknown);
      await assert.rejects(
        bus.subscribe(typo, "g", async () => undefined),
        { code: "TGLENS_SCHEMA" },
      );
      // Even a client that asks the broker to auto-create the topic is refused.
      await assert.rejects(
        producer.send({ messages: [{ topic: bus.wireTopic(typo), key: Buffer.from("1"), value: Buffer.from("{}") }] }),
        /Unknown topic/,
      );
      assert.equal((await admin.listTopics()).includes(bus.wireTopic(typo)), false);
    } finally {
      await producer.close();
      await admin.close();
      await bus.close();
    }
  });

  it("splits one group's partitions between two bus instances; each message is delivered once", async () => {
    const prefix = freshPrefix();
    const a = await newBus(prefix);
    const b = await newBus(prefix);
    try {
      const group = `${prefix}embedder`;
      const total = 300;
      const seenA: { key: string; id: number; partition: number }[] = [];
      const seenB: typeof seenA = [];
      type Batch = { message: { chat: { id: string }; message_id: number }; meta: { partition: number } }[];
      const record = (into: typeof seenA) => async (batch: Batch) => {
        for (const d of batch) into.push({ key: d.message.chat.id, id: d.message.message_id, partition: d.meta.partition });
      };
      await a.subscribe("preprocess-topic", group, record(seenA), { batchSize: 16 });
      await b.subscribe("preprocess-topic", group, record(seenB), { batchSize: 16 });
      const keys = Array.from({ length: 30 }, (_, i) => `${1000 + i}`);
      await a.publishMany(
        "preprocess-topic",
        Array.from({ length: total }, (_, i) => ({ key: keys[i % keys.length]!, message: rawMessage(keys[i % keys.length]!, i) })),
      );
      const deadline = Date.now() + 30_000;
      while (seenA.length + seenB.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      const all = [...seenA, ...seenB].map((d) => d.id).sort((x, y) => x - y);
      assert.deepEqual(all, [...Array(total).keys()], "every message exactly once across the group");
      assert.ok(seenA.length > 0 && seenB.length > 0, `both members got work (${seenA.length} / ${seenB.length})`);
      const partitionsA = new Set(seenA.map((d) => d.partition));
      const partitionsB = new Set(seenB.map((d) => d.partition));
      assert.equal([...partitionsA].filter((p) => partitionsB.has(p)).length, 0, "no partition served by both");
      for (const seen of [seenA, seenB]) {
        for (const key of keys) {
          const ids = seen.filter((d) => d.key === key).map((d) => d.id);
          assert.deepEqual(
            ids,
            [...ids].sort((x, y) => x - y),
            `order of ${key}`,
          );
        }
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("writes dead letters as JSON records on <topic>.dlq and calls onDeadLetter", async () => {
    const prefix = freshPrefix();
    const hooked: DeadLetter[] = [];
    const bus = await newBus(prefix, { maxAttempts: 2, onDeadLetter: (l) => hooked.push(l) });
    const inspect = inspectKafka({ brokers: BROKERS, topicPrefix: prefix });
    try {
      await bus.subscribe("embed-topic", `${prefix}dlq`, async () => {
        throw new Error("never works");
      });
      await bus.injectRaw("embed-topic", "42", "not json");
      const deadline = Date.now() + 20_000;
      while (hooked.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(hooked.length, 1);
      assert.equal(hooked[0]!.error.code, "TGLENS_SCHEMA");
      const letters = await inspect.deadLetters("embed-topic");
      assert.equal(letters.length, 1);
      assert.deepEqual(letters[0], hooked[0]);
      assert.equal(letters[0]!.topic, "embed-topic", "the origin topic is the logical name");
      assert.equal(letters[0]!.partition >= 0 && letters[0]!.partition < bus.partitions, true);
      assert.equal(letters[0]!.offset, "0");
      assert.deepEqual(await inspect.deadLetters("preprocess-topic"), []);
    } finally {
      await Promise.all([bus.close(), inspect.close()]);
    }
  });

  it("is not ready while its broker is down, and recovers: a publish waits, consumption resumes", { timeout: 150_000 }, async () => {
    const brokers = [`127.0.0.1:${RESTART_PORT}`];
    await kafkaScript("start", RESTART_PORT);
    let bus: KafkaBus | undefined;
    const prefix = freshPrefix(brokers);
    try {
      bus = await newBus(prefix, { brokers });
      assert.equal(await bus.ready(), true);
      const c = collector<"preprocess-topic">(3, 120_000);
      await bus.subscribe("preprocess-topic", `${prefix}restart`, c.handler);
      await bus.publish("preprocess-topic", rawMessage("9", 1), { key: "9" });
      while (c.seen.length < 1) await new Promise((r) => setTimeout(r, 50));

      await kafkaScript("stop", RESTART_PORT);
      assert.equal(await bus.ready(), false, "not ready while the broker is down");
      const during = bus.publish("preprocess-topic", rawMessage("9", 2), { key: "9" });
      await kafkaScript("start", RESTART_PORT);
      const deadline = Date.now() + 60_000;
      while (!(await bus.ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(await bus.ready(), true, "ready again after the broker returned");
      await during;
      await bus.publish("preprocess-topic", rawMessage("9", 3), { key: "9" });
      await c.done;
      assert.deepEqual(
        c.seen.map((d) => d.message.message_id),
        [1, 2, 3],
      );
    } finally {
      await bus?.close();
      await deleteTopics(prefix, brokers);
      await kafkaScript("stop", RESTART_PORT);
    }
  });
});
