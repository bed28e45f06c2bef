/**
 * The bus contract shared by the in-memory bus (embedded mode) and the Kafka bus (distributed
 * mode). Services depend on this interface only; which implementation is wired in is decided in
 * one place (the process entrypoint), and nothing else may branch on it. What every bus keeps —
 * validation both ways, per-key order (the chat id, or chat and message on embed-topic), at-least-once
 * delivery per group, retries then `<topic>.dlq`, the same errors — is in docs/architecture.md
 * ("Bus contract"), and test/services/common/bus-contract.ts checks it on each bus.
 */
import { TglensError } from "./errors.ts";
import { TOPIC_NAMES, type DeadLetter, type MessageOf, type Topic } from "./schemas.ts";

export interface DeliveryMeta {
  topic: Topic;
  partition: number;
  offset: string;
  key: string;
}

export interface Delivery<T extends Topic> {
  message: MessageOf<T>;
  meta: DeliveryMeta;
}

/** Receives up to `batchSize` messages of one partition, in order. */
export type BatchHandler<T extends Topic> = (batch: Delivery<T>[]) => Promise<void>;

export interface SubscribeOptions {
  /** Largest batch handed to the handler (default 1). */
  batchSize?: number;
  /** How long to wait for a batch to fill before handing over what is there (default 0). */
  maxWaitMs?: number;
}

export interface Subscription {
  /** Stops consuming: the batch in flight finishes and is committed, nothing new starts. */
  close(): Promise<void>;
}

export interface Bus {
  publish<T extends Topic>(topic: T, message: MessageOf<T>, opts: { key: string }): Promise<void>;
  /** Publishes several messages of one topic; resolves when all are durable. */
  publishMany<T extends Topic>(topic: T, items: readonly { message: MessageOf<T>; key: string }[]): Promise<void>;
  subscribe<T extends Topic>(topic: T, group: string, handler: BatchHandler<T>, opts?: SubscribeOptions): Promise<Subscription>;
  /** Whether the bus can take and deliver messages now (the broker answers). */
  ready(): Promise<boolean>;
  /**
   * Whether what was published outlives this process (a broker keeps it) or ends with it (in
   * memory). A consumer that keeps state across restarts (the job tracker) needs to know.
   */
  readonly durable: boolean;
  close(): Promise<void>;
}

export interface BusOptions {
  partitions?: number;
  /** Attempts per message before it is dead-lettered (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (default 50 ms). */
  retryBaseMs?: number;
  /** Called after a message was dead-lettered (job accounting hooks in here). */
  onDeadLetter?: (letter: DeadLetter) => void;
}

export const DEFAULT_PARTITIONS = 3;
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Kafka's default partitioner is murmur2; any stable hash keeps per-key order, this one is FNV-1a. */
export function partitionForKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

const KNOWN_TOPICS = new Set<string>(TOPIC_NAMES);

/** Refuses a topic name the bus does not know, so a typo fails instead of creating a topic. */
export function assertTopic(topic: string): asserts topic is Topic {
  if (!KNOWN_TOPICS.has(topic)) {
    throw new TglensError("TGLENS_SCHEMA", `unknown topic "${topic}" (the bus knows ${TOPIC_NAMES.join(", ")})`);
  }
}

/** What publish and subscribe throw once the bus was closed, on either bus. */
export function busClosedError(bus: "memory" | "Kafka"): TglensError {
  return new TglensError("TGLENS_NOT_READY", `the ${bus} bus is closed`);
}

export function deadLetterTopic(topic: Topic): string {
  return `${topic}.dlq`;
}

export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** (attempt - 1), 5_000);
}
