/**
 * Forgetting a chat everywhere, from the gateway. No service touches another's files, so the
 * gateway asks on control-topic and each service that keeps data of the chat forgets its own
 * (common/forget.ts), then confirms on the same topic; the gateway reads the answers in a consumer
 * group of its own and reports what each service removed.
 *
 * Two steps: the scraper and the preprocessor first, storage last. Storage is where a chat is
 * known (the gateway checks there that it exists, and searches find it there), so as long as a
 * service failed to forget its part, storage keeps the chat and asking again works. A service that
 * does not answer in time (down, or busy) is reported as pending and does not hold the rest back:
 * the request waits on control-topic and that service forgets the chat when it reads it.
 */
import { randomUUID } from "node:crypto";
import type { Static } from "@sinclair/typebox";
import type { Bus, Delivery, Subscription } from "../common/bus.ts";
import { TglensError } from "../common/errors.ts";
import type { Removed } from "../common/forget.ts";
import { callJson } from "../common/http-client.ts";
import type { Logger } from "../common/logger.ts";
import { MESSAGE_SCHEMA_VERSION, type ControlMessage, type ForgettingService } from "../common/schemas.ts";
import type { ForgetAnswer } from "./api/schemas.ts";

/** How long each step waits for its services' answers. */
export const FORGET_WAIT_MS = 30_000;
/** The gateway's consumer group on control-topic (one gateway per deployment, as one bot polls Telegram). */
export const GATEWAY_FORGET_GROUP = "forget-gateway";

/** What the services asked in one step answered. */
export interface ForgetOutcome {
  confirmed: Partial<Record<ForgettingService, Removed>>;
  failed: Partial<Record<ForgettingService, { code: string; message: string }>>;
  /** Asked, and no answer when the wait ended. */
  pending: ForgettingService[];
}

/** The answers to one request, as they come. */
class Answers {
  readonly confirmed: ForgetOutcome["confirmed"] = {};
  readonly failed: ForgetOutcome["failed"] = {};
  readonly #asked: readonly ForgettingService[];
  readonly #done: Promise<void>;
  #resolve!: () => void;

  constructor(asked: readonly ForgettingService[]) {
    this.#asked = asked;
    this.#done = new Promise((resolve) => (this.#resolve = resolve));
  }

  add(message: Exclude<ControlMessage, { kind: "forget" }>): void {
    if (!this.#asked.includes(message.service)) return;
    if (message.kind === "forgotten") {
      this.confirmed[message.service] = message.removed;
      delete this.failed[message.service];
    } else if (!this.confirmed[message.service]) {
      this.failed[message.service] = message.error;
    }
    if (this.#asked.every((s) => this.confirmed[s] || this.failed[s])) this.#resolve();
  }

  /** Resolves when every service asked answered, or after `ms`, or at end(). */
  async settled(ms: number): Promise<ForgetOutcome> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
    const pending = this.#asked.filter((s) => !this.confirmed[s] && !this.failed[s]);
    return { confirmed: { ...this.confirmed }, failed: { ...this.failed }, pending };
  }

  end(): void {
    this.#resolve();
  }
}

export interface ForgetCoordinator {
  /** Starts reading the answers on control-topic. */
  follow(): Promise<Subscription>;
  /** Asks `services` to forget the chat and waits for their answers (at most `waitMs`). */
  ask(chatId: string, services: readonly ForgettingService[]): Promise<ForgetOutcome>;
  /** Ends every wait now (the gateway is stopping): services not heard from are pending. */
  close(): void;
}

export function createForgetCoordinator(deps: { bus: Bus; log: Logger; waitMs?: number }): ForgetCoordinator {
  const { bus, log } = deps;
  const waitMs = deps.waitMs ?? FORGET_WAIT_MS;
  const waiting = new Map<string, Answers>();
  let closed = false;

  async function handle(batch: Delivery<"control-topic">[]): Promise<void> {
    for (const { message } of batch) {
      if (message.kind !== "forget") waiting.get(message.request_id)?.add(message);
    }
  }

  return {
    follow: () => bus.subscribe("control-topic", GATEWAY_FORGET_GROUP, handle, { batchSize: 100 }),
    async ask(chatId, services) {
      if (closed) throw new TglensError("TGLENS_NOT_READY", "the gateway is stopping");
      const requestId = randomUUID();
      const answers = new Answers(services);
      waiting.set(requestId, answers);
      try {
        await bus.publish(
          "control-topic",
          { v: MESSAGE_SCHEMA_VERSION, kind: "forget", request_id: requestId, chat_id: chatId, services: [...services] },
          { key: chatId },
        );
        const outcome = await answers.settled(waitMs);
        log.info({ chat_id: chatId, request_id: requestId, ...outcome }, "forget answered");
        return outcome;
      } finally {
        waiting.delete(requestId);
      }
    },
    close() {
      closed = true;
      for (const answers of waiting.values()) answers.end();
    },
  };
}

/** The services of each step, storage last (see the header). */
const STEPS: readonly (readonly ForgettingService[])[] = [["scraper", "preprocessor"], ["storage"]];

export interface ForgetEverywhereDeps {
  coordinator: Pick<ForgetCoordinator, "ask">;
  /** Storage's base URL, where the gateway checks that the chat exists. */
  storageUrl: string;
  /** The token the services are called with (the gateway's admin token), if any. */
  token: string | undefined;
}

/**
 * Forgets a chat in every service that keeps data of it: 404 (storage's answer) for a chat storage
 * does not know, TGLENS_UPSTREAM naming the services that failed (storage then keeps the chat), or
 * the answer with what each service removed and which have not answered yet.
 */
export async function forgetEverywhere(deps: ForgetEverywhereDeps, chatId: string): Promise<Static<typeof ForgetAnswer>> {
  // Storage checks the id as well (400 for one that is not a chat id, 404 for an unknown chat).
  const chat = await callJson<{ chat_id: string; messages: number }>(deps.storageUrl, `/chats/${encodeURIComponent(chatId)}`, { token: deps.token });
  const services: Partial<Record<ForgettingService, Removed>> = {};
  const pending: ForgettingService[] = [];
  for (const step of STEPS) {
    const outcome = await deps.coordinator.ask(chat.chat_id, step);
    Object.assign(services, outcome.confirmed);
    pending.push(...outcome.pending);
    const failed = Object.entries(outcome.failed);
    if (failed.length === 0) continue;
    const why = failed.map(([service, error]) => `${service}: ${error.message} (${error.code})`).join("; ");
    const kept = step.includes("storage") ? "" : "; storage keeps the chat until they can";
    throw new TglensError(
      "TGLENS_UPSTREAM",
      `chat ${chat.chat_id} is not forgotten everywhere: ${failed.map(([s]) => s).join(" and ")} could not forget it (${why})${kept}. Ask again.`,
    );
  }
  return { chat_id: chat.chat_id, deleted: pending.length === 0, messages: chat.messages, services, pending };
}
