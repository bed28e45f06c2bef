/**
 * What both bus implementations do with a message between the wire and the handler: encoding with
 * validation, decoding with validation, and the retry/dead-letter policy. Kept apart from any
 * transport so the memory bus and the Kafka bus cannot drift apart.
 */
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { TSchema } from "@sinclair/typebox";
import { backoffMs, type BatchHandler, type Delivery, type DeliveryMeta } from "./bus.ts";
import { describeError, TglensError } from "./errors.ts";
import { TOPICS, type DeadLetter, type MessageOf, type Topic } from "./schemas.ts";

const checkers = new Map<Topic, TypeCheck<TSchema>>();

function checkerFor(topic: Topic): TypeCheck<TSchema> {
  let checker = checkers.get(topic);
  if (!checker) {
    checker = TypeCompiler.Compile(TOPICS[topic]);
    checkers.set(topic, checker);
  }
  return checker;
}

function schemaError(topic: Topic, value: unknown): TglensError {
  const first = checkerFor(topic).Errors(value).First();
  const where = first ? `${first.path || "/"}: ${first.message}` : "invalid";
  return new TglensError("TGLENS_SCHEMA", `${topic} message does not match its schema (${where})`);
}

/** Validates and serialises a message for the wire; throws TGLENS_SCHEMA for a bad one. */
export function encodeMessage<T extends Topic>(topic: T, message: MessageOf<T>): string {
  if (!checkerFor(topic).Check(message)) throw schemaError(topic, message);
  return JSON.stringify(message);
}

/** Parses and validates a payload from the wire; throws TGLENS_SCHEMA for a bad one. */
export function decodeMessage<T extends Topic>(topic: T, payload: string): MessageOf<T> {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (err) {
    throw new TglensError("TGLENS_SCHEMA", `${topic} message is not JSON`, { cause: err });
  }
  if (!checkerFor(topic).Check(value)) throw schemaError(topic, value);
  return value as MessageOf<T>;
}

export interface WireRecord {
  meta: DeliveryMeta;
  payload: string;
}

export interface DeliveryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  /** Writes the dead letter durably (the `<topic>.dlq` topic). */
  deadLetter: (letter: DeadLetter) => Promise<void>;
  /** Stop retrying early when the consumer is shutting down (the batch is then not committed). */
  isClosing?: () => boolean;
  /** A whole batch failed and goes one message at a time: worth a warning, since it is slow. */
  onBatchError?: (err: unknown, size: number) => void;
}

function letterFor(record: WireRecord, err: unknown, attempts: number): DeadLetter {
  return {
    topic: record.meta.topic,
    partition: record.meta.partition,
    offset: record.meta.offset,
    key: record.meta.key,
    payload: record.payload,
    error: describeError(err),
    attempts,
    failed_at: new Date().toISOString(),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ConsumerClosingError extends Error {}

/**
 * Delivers one fetched batch: undecodable messages are dead-lettered at once (retrying cannot fix
 * them); the rest go to the handler as one batch, and if that fails, one by one with backoff so a
 * single poison message cannot hold back its neighbours. Resolves when every record is either
 * handled or dead-lettered, i.e. when the batch may be committed.
 */
export async function deliverBatch<T extends Topic>(
  topic: T,
  records: readonly WireRecord[],
  handler: BatchHandler<T>,
  policy: DeliveryPolicy,
): Promise<void> {
  const deliveries: { delivery: Delivery<T>; record: WireRecord }[] = [];
  for (const record of records) {
    try {
      deliveries.push({ delivery: { message: decodeMessage(topic, record.payload), meta: record.meta }, record });
    } catch (err) {
      await policy.deadLetter(letterFor(record, err, 1));
    }
  }
  if (deliveries.length === 0) return;
  try {
    await handler(deliveries.map((d) => d.delivery));
    return;
  } catch (err) {
    if (deliveries.length === 1) return retrySingle(deliveries[0]!, handler, policy, err);
    policy.onBatchError?.(err, deliveries.length);
  }
  for (const item of deliveries) await retrySingle(item, handler, policy, undefined);
}

async function retrySingle<T extends Topic>(
  item: { delivery: Delivery<T>; record: WireRecord },
  handler: BatchHandler<T>,
  policy: DeliveryPolicy,
  firstError: unknown,
): Promise<void> {
  let attempt = firstError === undefined ? 0 : 1;
  let lastError = firstError;
  while (attempt < policy.maxAttempts) {
    if (attempt > 0) {
      if (policy.isClosing?.()) throw new ConsumerClosingError("consumer closing");
      await sleep(backoffMs(attempt, policy.retryBaseMs));
    }
    attempt++;
    try {
      await handler([item.delivery]);
      return;
    } catch (err) {
      lastError = err;
      if (err instanceof TglensError && !err.retryable) break;
    }
  }
  await policy.deadLetter(letterFor(item.record, lastError, attempt));
}
