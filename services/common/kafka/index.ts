/**
 * The Kafka bus, from outside this folder: createKafkaBus and its types. The parts (topics,
 * producer, subscription, records, dead letters) are the folder's own; tests import them directly.
 */
export { createKafkaBus, type KafkaBus } from "./kafka-bus.ts";
export type { KafkaBusOptions } from "./options.ts";
