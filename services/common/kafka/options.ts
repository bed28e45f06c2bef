/**
 * The Kafka bus's options and their defaults, resolved once into the settings every part of the bus
 * reads (topics, producer, subscriptions), plus the size limits of a fetch. Nothing else in the
 * folder picks a default, so a timeout is tuned in one place.
 */
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_PARTITIONS, type BusOptions } from "../bus.ts";
import type { Logger } from "../logger.ts";

export interface KafkaBusOptions extends BusOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Names this process towards the broker; consumers and the producer derive theirs from it. */
  clientId: string;
  /** Prepended to every topic name on the wire (tests use a fresh one per run, e.g. "t123-"). */
  topicPrefix?: string;
  log?: Logger;
  /** How long createKafkaBus keeps trying to reach the broker and create topics (default 60 s). */
  startTimeoutMs?: number;
  /** Group session timeout: how soon a crashed member's partitions move on (default 10 s). */
  sessionTimeoutMs?: number;
  /** Group heartbeat interval; also how soon a member notices a rebalance (default 1 s). */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits at the broker for new messages (default 500 ms). */
  fetchMaxWaitMs?: number;
}

/** The options with every default filled in. */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  partitions: number;
  log: Logger | undefined;
  maxAttempts: number;
  retryBaseMs: number;
  startTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  /** A topic's name on the wire (with the prefix). */
  wire(name: string): string;
}

/** Largest slice of one partition a fetch asks for. */
export const PARTITION_MAX_BYTES = 1 << 20;
/** Largest fetch response. */
export const FETCH_MAX_BYTES = 8 << 20;

/** Connection settings of the admin client, the producer and readers. */
export function connection(settings: KafkaSettings) {
  return { bootstrapBrokers: settings.brokers, connectTimeout: 5_000, timeout: 10_000 };
}

export function resolveSettings(opts: KafkaBusOptions): Readonly<KafkaSettings> {
  const prefix = opts.topicPrefix ?? "";
  return Object.freeze({
    brokers: opts.brokers,
    clientId: opts.clientId,
    partitions: opts.partitions ?? DEFAULT_PARTITIONS,
    log: opts.log,
    maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryBaseMs: opts.retryBaseMs ?? 50,
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1_000,
    fetchMaxWaitMs: opts.fetchMaxWaitMs ?? 500,
    wire: (name: string) => `${prefix}${name}`,
  });
}
