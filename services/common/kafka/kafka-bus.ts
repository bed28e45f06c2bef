/**
 * The Kafka bus of distributed mode, on @platformatic/kafka: the `Bus` contract (bus.ts) over a real
 * broker, assembled from the parts of this folder — topics created at start (topics.ts), one
 * producer (producer.ts), one group member per subscribe() (subscription.ts, member.ts), dead
 * letters as records on `<topic>.dlq` (dead-letters.ts). Retry and dead-letter policy is
 * deliverBatch's (bus-delivery.ts), shared with the memory bus.
 *
 * Delivery is at least once: a message handled but not yet committed when its partition moves to
 * another member (rebalance, crash) is delivered again there. Sinks are idempotent for that reason.
 */
import { Admin } from "@platformatic/kafka";
import { assertTopic, busClosedError, type BatchHandler, type Bus, type SubscribeOptions, type Subscription } from "../bus.ts";
import { encodeMessage } from "../bus-delivery.ts";
import type { MessageOf, Topic } from "../schemas.ts";
import { deadLetterWriter } from "./dead-letters.ts";
import type { MemberContext } from "./member.ts";
import { connection, resolveSettings, type KafkaBusOptions } from "./options.ts";
import { BusProducer } from "./producer.ts";
import { KafkaSubscription } from "./subscription.ts";
import { setUpTopics, topicsReady, wireTopics } from "./topics.ts";
import { withTimeout } from "./timers.ts";

export interface KafkaBus extends Bus {
  /** Partitions per topic the bus creates topics with. */
  readonly partitions: number;
  /** Produces a payload as-is, skipping publish-side validation: how tests simulate a foreign producer. */
  injectRaw(topic: Topic, key: string, payload: string): Promise<void>;
  /** A topic's name on the wire (with the prefix). */
  wireTopic(name: string): string;
}

/**
 * Connects to the brokers, creates the bus's topics where missing, and returns the bus. Keeps trying
 * for `startTimeoutMs` if the broker is not up yet.
 */
export async function createKafkaBus(opts: KafkaBusOptions): Promise<KafkaBus> {
  const settings = resolveSettings(opts);
  const wire = settings.wire;
  const names = wireTopics(settings);
  const admin = new Admin({ clientId: `${settings.clientId}-admin`, ...connection(settings), retries: 0 });
  const producer = new BusProducer(settings);
  try {
    await setUpTopics(admin, names, settings);
  } catch (err) {
    await Promise.allSettled([admin.close(), producer.close()]);
    throw err;
  }

  let closed = false;
  const subscriptions = new Set<KafkaSubscription<Topic>>();
  const ctx: MemberContext = { ...settings, deadLetter: deadLetterWriter(producer, settings, opts.onDeadLetter) };

  return {
    partitions: settings.partitions,

    wireTopic: wire,

    async publish<T extends Topic>(topic: T, message: MessageOf<T>, o: { key: string }) {
      assertTopic(topic);
      await producer.produce([{ topic: wire(topic), key: o.key, payload: encodeMessage(topic, message) }]);
    },

    async publishMany<T extends Topic>(topic: T, items: readonly { message: MessageOf<T>; key: string }[]) {
      assertTopic(topic);
      const records = items.map((item) => ({ topic: wire(topic), key: item.key, payload: encodeMessage(topic, item.message) }));
      if (records.length > 0) await producer.produce(records);
    },

    async injectRaw(topic: Topic, key: string, payload: string) {
      assertTopic(topic);
      await producer.produce([{ topic: wire(topic), key, payload }]);
    },

    async subscribe<T extends Topic>(topic: T, group: string, handler: BatchHandler<T>, o: SubscribeOptions = {}): Promise<Subscription> {
      assertTopic(topic);
      if (closed) throw busClosedError("Kafka");
      const sub = new KafkaSubscription<T>(ctx, topic, group, handler, o);
      subscriptions.add(sub as unknown as KafkaSubscription<Topic>);
      await sub.start(30_000);
      return {
        async close() {
          await sub.close();
          subscriptions.delete(sub as unknown as KafkaSubscription<Topic>);
        },
      };
    },

    durable: true,
    async ready() {
      return !closed && (await topicsReady(admin, names));
    },

    async close() {
      if (closed) return;
      closed = true;
      producer.refuse();
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      subscriptions.clear();
      // Flush: what was handed to the producer gets to the broker, unless it is down for long.
      await producer.flush();
      await Promise.allSettled([producer.close(), withTimeout(admin.close(), 5_000, "closing the admin client")]);
    },
  };
}
