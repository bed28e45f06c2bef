/**
 * A service's part in forgetting a chat: it reads control-topic in a consumer group of its own
 * (`forget-<service>`), removes its own traces of each chat it is asked to forget, and answers on
 * the same topic — `forgotten` with what it removed, or `forget-failed` with why. The gateway
 * waits for the answers (services/gateway/forget.ts). A redelivered request finds nothing left
 * and confirms again, so handling one twice is harmless.
 */
import type { Bus, Delivery, Subscription } from "./bus.ts";
import { describeError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { MESSAGE_SCHEMA_VERSION, type ControlMessage, type ForgettingService } from "./schemas.ts";

/** What a service removed of a chat, by kind (files, rows, jobs...). */
export type Removed = Record<string, number>;

export interface ForgetParticipant {
  bus: Bus;
  service: ForgettingService;
  log: Logger;
  /** Removes this service's traces of the chat. */
  forget(chatId: string): Promise<Removed>;
}

export function forgetGroup(service: ForgettingService): string {
  return `forget-${service}`;
}

/** Starts answering forget requests from control-topic. */
export function followForgets(participant: ForgetParticipant): Promise<Subscription> {
  const { bus, service, log } = participant;
  async function handle(batch: Delivery<"control-topic">[]): Promise<void> {
    for (const { message } of batch) {
      if (message.kind !== "forget" || (message.services && !message.services.includes(service))) continue;
      const { request_id, chat_id } = message;
      const reply = { v: MESSAGE_SCHEMA_VERSION, request_id, chat_id, service } as const;
      let answer: ControlMessage;
      try {
        const removed = await participant.forget(chat_id);
        log.info({ chat_id, request_id, removed }, "chat forgotten");
        answer = { ...reply, kind: "forgotten", removed };
      } catch (err) {
        // Said on the topic rather than retried here: the gateway tells the person, who may ask again.
        log.error({ err, chat_id, request_id }, "could not forget a chat");
        answer = { ...reply, kind: "forget-failed", error: describeError(err) };
      }
      // A publish that fails throws: the bus delivers the request again, and it is handled again.
      await bus.publish("control-topic", answer, { key: chat_id });
    }
  }
  return bus.subscribe("control-topic", forgetGroup(service), handle, { batchSize: 10 });
}
