/**
 * The bus's topic names on the wire and the grouping of partitions by leader, without a broker.
 * Creating topics on a real broker is tested through the bus (kafka-bus.kafka.test.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClusterTopicMetadata } from "@platformatic/kafka";
import { resolveSettings } from "../../../../services/common/kafka/options.ts";
import { byLeader, wireTopics } from "../../../../services/common/kafka/topics.ts";
import { TOPIC_NAMES } from "../../../../services/common/schemas.ts";

function topicLedBy(leaders: number[]): ClusterTopicMetadata {
  return {
    id: "topic-id",
    partitionsCount: leaders.length,
    lastUpdate: 0,
    partitions: leaders.map((leader) => ({ leader, leaderEpoch: 0, replicas: [leader], isr: [leader], offlineReplicas: [] })),
  };
}

describe("kafka topics", () => {
  it("names every topic and its dead-letter topic on the wire, with the prefix", () => {
    const names = wireTopics(resolveSettings({ brokers: [], clientId: "c", topicPrefix: "t1-" }));
    assert.equal(names.length, TOPIC_NAMES.length * 2);
    for (const topic of TOPIC_NAMES) {
      assert.ok(names.includes(`t1-${topic}`), topic);
      assert.ok(names.includes(`t1-${topic}.dlq`), `${topic}.dlq`);
    }
    assert.deepEqual(wireTopics(resolveSettings({ brokers: [], clientId: "c" })).slice(0, 2), [TOPIC_NAMES[0], `${TOPIC_NAMES[0]}.dlq`]);
  });

  it("groups partitions by their leader and sets apart those without one", () => {
    const topic = topicLedBy([1, 2, 1, -1]);
    const items = [0, 1, 2, 3, 7].map((p) => ({ p }));
    const { byNode, leaderless } = byLeader(topic, items, (i) => i.p);
    assert.deepEqual(
      [...byNode].map(([node, list]) => [node, list.map((i) => i.p)]),
      [
        [1, [0, 2]],
        [2, [1]],
      ],
    );
    assert.deepEqual(
      leaderless.map((i) => i.p),
      [3, 7],
      "no leader (-1) and unknown to the metadata",
    );
  });
});
