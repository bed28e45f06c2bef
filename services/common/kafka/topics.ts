/**
 * The bus's topics on the broker. The broker runs with auto-create off, so the bus creates the
 * topics of schemas.ts and their `<topic>.dlq` itself at start (with `partitions` partitions, when
 * missing) and waits until each has a leader; readiness is "the broker answers and knows them all".
 * Also which broker leads which partition, since fetches go to a partition's leader.
 */
import { findErrorBy, type Admin, type ClusterTopicMetadata } from "@platformatic/kafka";
import { backoffMs, deadLetterTopic } from "../bus.ts";
import { TglensError } from "../errors.ts";
import { TOPIC_NAMES } from "../schemas.ts";
import type { KafkaSettings } from "./options.ts";
import { sleep, withTimeout } from "./timers.ts";

/** Every topic the bus uses, as named on the wire: each topic and its dead-letter topic. */
export function wireTopics(settings: Pick<KafkaSettings, "wire">): string[] {
  return TOPIC_NAMES.flatMap((t) => [settings.wire(t), settings.wire(deadLetterTopic(t))]);
}

/** Creates the missing topics, then waits until every partition has a leader. */
export async function ensureTopics(admin: Admin, names: readonly string[], settings: KafkaSettings): Promise<void> {
  const { partitions, log } = settings;
  const existing = new Set(await admin.listTopics());
  for (const name of names) {
    if (existing.has(name)) continue;
    try {
      await admin.createTopics({ topics: [name], partitions, replicas: -1 });
      log?.info({ topic: name, partitions }, "kafka topic created");
    } catch (err) {
      if (!findErrorBy(err as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw err;
    }
  }
  // Created topics take a moment to get leaders; wait so the first publish does not race them.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const md = await admin.metadata({ topics: [...names], forceUpdate: true }).catch(() => undefined);
    const pending = names.filter((n) => {
      const t = md?.topics.get(n);
      return !t || t.partitions.length === 0 || t.partitions.some((p) => !p || p.leader < 0);
    });
    if (md && pending.length === 0) {
      for (const n of names) {
        const count = md.topics.get(n)!.partitionsCount;
        if (count === partitions) continue;
        log?.warn({ topic: n, partitions: count, configured: partitions }, "kafka topic exists with another partition count; keeping it");
      }
      return;
    }
    if (Date.now() > deadline) throw new Error(`topics without a leader: ${pending.join(", ")}`);
    await sleep(100);
  }
}

/**
 * ensureTopics, retried with backoff for `startTimeoutMs` while the broker is not up yet; then
 * TGLENS_NOT_READY naming the brokers.
 */
export async function setUpTopics(admin: Admin, names: readonly string[], settings: KafkaSettings): Promise<void> {
  const startDeadline = Date.now() + settings.startTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(admin, names, settings);
      return;
    } catch (err) {
      if (Date.now() >= startDeadline) {
        const what = `Kafka at ${settings.brokers.join(",")} could not be reached or set up: ${(err as Error).message}`;
        throw new TglensError("TGLENS_NOT_READY", what, { cause: err });
      }
      const delay = backoffMs(attempt, 500);
      settings.log?.warn({ err, brokers: settings.brokers, retryInMs: delay }, "kafka not reachable yet; retrying");
      await sleep(delay);
    }
  }
}

/** Whether the broker answers within 3 s and knows every one of the topics. */
export async function topicsReady(admin: Admin, names: readonly string[]): Promise<boolean> {
  try {
    const md = await withTimeout(admin.metadata({ topics: [...names], forceUpdate: true }), 3_000, "kafka metadata");
    return names.every((n) => md.topics.has(n));
  } catch {
    return false;
  }
}

/** Groups items by the broker leading their partition; items whose partition has no leader now come apart. */
export function byLeader<I>(topic: ClusterTopicMetadata, items: readonly I[], partitionOf: (item: I) => number) {
  const byNode = new Map<number, I[]>();
  const leaderless: I[] = [];
  for (const item of items) {
    const leader = topic.partitions[partitionOf(item)]?.leader ?? -1;
    if (leader < 0) {
      leaderless.push(item);
      continue;
    }
    const list = byNode.get(leader) ?? [];
    list.push(item);
    byNode.set(leader, list);
  }
  return { byNode, leaderless };
}
