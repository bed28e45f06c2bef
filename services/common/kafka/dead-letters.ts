/**
 * Writing dead letters on Kafka: a letter is a JSON record on `<topic>.dlq` (wire name, with the
 * prefix), keyed like the message it carries, and durable before `onDeadLetter` hears of it (job
 * accounting hooks in there). A failing hook is logged, never thrown into the consume loop.
 * Reading them back is for tests and tools, not the bus (test/helpers/bus-inspect.ts).
 */
import { deadLetterTopic, type BusOptions } from "../bus.ts";
import type { DeadLetter, Topic } from "../schemas.ts";
import type { KafkaSettings } from "./options.ts";
import type { BusProducer } from "./producer.ts";

export type DeadLetterWriter = (letter: DeadLetter) => Promise<void>;

export function deadLetterWriter(producer: BusProducer, settings: KafkaSettings, onDeadLetter: BusOptions["onDeadLetter"]): DeadLetterWriter {
  return async (letter) => {
    await producer.produce([{ topic: settings.wire(deadLetterTopic(letter.topic as Topic)), key: letter.key, payload: JSON.stringify(letter) }]);
    try {
      onDeadLetter?.(letter);
    } catch (err) {
      settings.log?.error({ err }, "onDeadLetter hook failed");
    }
  };
}
