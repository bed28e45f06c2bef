/**
 * A Telegram that answers without a network: the GramJS calls the live scraper makes
 * (TelegramReader), over chats held in memory as real GramJS objects (`new Api.Message(...)`,
 * `new Api.Channel(...)`). It answers as GramJS does — history oldest first above `minId` when
 * asked with `reverse: true`, at most 100 messages per request, each message carrying the users
 * and chats of its response in `_entities`, unknown usernames as GramJS's own Error — and fails on
 * cue: a fault names a method and the number of its call, and throws whatever the test gives, such
 * as GramJS's own `errors.FloodWaitError`.
 */
import { Api, errors, helpers, utils } from "telegram";
import type { Entity, TelegramReader } from "../../services/scraper/telegram/client.ts";
import type { Clock } from "../../services/scraper/telegram/flood-wait.ts";

const big = (n: number | string) => helpers.returnBigInt(n);

export function user(
  id: number,
  firstName: string,
  lastName?: string,
  extra: Partial<{ username: string; bot: boolean; self: boolean; deleted: boolean }> = {},
): Api.User {
  return new Api.User({ id: big(id), accessHash: big(id * 7), firstName, ...(lastName ? { lastName } : {}), ...extra });
}

export function channel(id: number, title: string, extra: Partial<{ username: string; megagroup: boolean; broadcast: boolean }> = {}): Api.Channel {
  return new Api.Channel({ id: big(id), accessHash: big(id * 3), title, photo: new Api.ChatPhotoEmpty(), date: 1_600_000_000, ...extra });
}

export function basicGroup(id: number, title: string): Api.Chat {
  return new Api.Chat({ id: big(id), title, photo: new Api.ChatPhotoEmpty(), participantsCount: 3, date: 1_600_000_000, version: 1 });
}

/** The peer messages of a chat entity carry in `peerId`. */
export function peerOf(entity: Api.User | Api.Chat | Api.Channel): Api.TypePeer {
  if (entity instanceof Api.User) return new Api.PeerUser({ userId: entity.id });
  if (entity instanceof Api.Chat) return new Api.PeerChat({ chatId: entity.id });
  return new Api.PeerChannel({ channelId: entity.id });
}

export const HISTORY_START = 1_700_000_000;

/**
 * `count` messages in a chat, ids 1..count, one a minute from HISTORY_START, sent in turn by
 * `senders`; every `serviceEvery`-th is a service message (someone joined), if given.
 */
export function history(
  chat: Api.User | Api.Chat | Api.Channel,
  count: number,
  senders: Api.User[],
  opts: { serviceEvery?: number; firstId?: number } = {},
): Api.TypeMessage[] {
  const peerId = peerOf(chat);
  const out: Api.TypeMessage[] = [];
  const first = opts.firstId ?? 1;
  for (let id = first; id < first + count; id++) {
    const sender = senders[id % senders.length]!;
    const date = HISTORY_START + id * 60;
    if (opts.serviceEvery && id % opts.serviceEvery === 0) {
      out.push(
        new Api.MessageService({
          id,
          peerId,
          date,
          fromId: new Api.PeerUser({ userId: sender.id }),
          action: new Api.MessageActionChatJoinedByLink({ inviterId: sender.id }),
        }),
      );
    } else {
      out.push(new Api.Message({ id, peerId, date, fromId: new Api.PeerUser({ userId: sender.id }), message: `message ${id}` }));
    }
  }
  return out;
}

export interface FakeChat {
  entity: Api.User | Api.Chat | Api.Channel;
  messages: Api.TypeMessage[];
  /** Among the account's dialogs (default true). */
  inDialogs?: boolean;
  /** Reading its history fails as a private channel the account left does (CHANNEL_PRIVATE). */
  unreadable?: boolean;
}

export type FakeMethod = "connect" | "getMe" | "getEntity" | "iterDialogs" | "getMessages";

export interface FakeFault {
  method: FakeMethod;
  /** Which call of that method fails (1 = the first). */
  call: number;
  error: () => unknown;
}

export function floodWait(seconds: number): () => unknown {
  return () =>
    new errors.FloodWaitError({
      request: new Api.messages.GetHistory({
        peer: new Api.InputPeerEmpty(),
        offsetId: 0,
        offsetDate: 0,
        addOffset: 0,
        limit: 100,
        maxId: 0,
        minId: 0,
        hash: big(0),
      }),
      capture: seconds,
    });
}

export class FakeTelegram implements TelegramReader {
  readonly me: Api.User;
  readonly chats: FakeChat[];
  readonly users: Api.User[];
  readonly faults: FakeFault[];
  /** Every call as made, for assertions on what the scraper asked. */
  readonly calls: { method: FakeMethod; params?: unknown }[] = [];
  connected = false;
  destroyed = false;
  private readonly counts = new Map<FakeMethod, number>();

  constructor(opts: { chats: FakeChat[]; users?: Api.User[]; me?: Api.User; faults?: FakeFault[] }) {
    this.me = opts.me ?? user(1, "Me", undefined, { self: true });
    this.chats = opts.chats;
    this.users = opts.users ?? [];
    this.faults = opts.faults ?? [];
  }

  /** Adds messages to a chat, as if they were sent meanwhile. */
  append(entity: Api.User | Api.Chat | Api.Channel, messages: Api.TypeMessage[]): void {
    this.chatOf(entity).messages.push(...messages);
  }

  private hit(method: FakeMethod, params?: unknown): void {
    this.calls.push({ method, params });
    const n = (this.counts.get(method) ?? 0) + 1;
    this.counts.set(method, n);
    const i = this.faults.findIndex((f) => f.method === method && f.call === n);
    if (i >= 0) {
      const [fault] = this.faults.splice(i, 1);
      throw fault!.error();
    }
  }

  callsOf(method: FakeMethod): number {
    return this.counts.get(method) ?? 0;
  }

  private chatOf(entity: unknown): FakeChat {
    const chat = this.chats.find(
      (c) => c.entity === entity || (entity instanceof c.entity.constructor && (entity as Api.User).id?.equals(c.entity.id)),
    );
    if (!chat) throw new Error(`fake Telegram: no such chat ${String(entity)}`);
    return chat;
  }

  async connect(): Promise<boolean> {
    this.hit("connect");
    this.connected = true;
    return true;
  }

  async getMe(): Promise<Api.User> {
    this.hit("getMe");
    return this.me;
  }

  async getEntity(entity: unknown): Promise<Entity> {
    this.hit("getEntity", entity);
    if (typeof entity !== "string") throw new Error("fake Telegram: getEntity is only asked for usernames");
    const name = entity.toLowerCase();
    const found = [...this.chats.map((c) => c.entity), ...this.users].find((e) => (e as Api.Channel).username?.toLowerCase() === name);
    // What GramJS itself throws when contacts.ResolveUsername answers USERNAME_NOT_OCCUPIED.
    if (!found) throw new Error(`No user has "${entity}" as username`);
    return found;
  }

  async *iterDialogs(params?: unknown): AsyncGenerator<{ entity?: Entity }> {
    this.hit("iterDialogs", params);
    for (const chat of this.chats) if (chat.inDialogs !== false) yield { entity: chat.entity };
  }

  async getMessages(entity: unknown, params?: { limit?: number; minId?: number; reverse?: boolean }): Promise<Api.TypeMessage[]> {
    this.hit("getMessages", { ...params });
    if (!this.connected || this.destroyed) throw new Error("Cannot send requests while disconnected. You need to call .connect()");
    if (params?.reverse !== true) throw new Error("fake Telegram: the scraper must read oldest first (reverse: true)");
    const chat = this.chatOf(entity);
    if (chat.unreadable) throw new errors.RPCError("CHANNEL_PRIVATE", new Api.messages.GetHistory({} as never), 400);
    const minId = params.minId ?? 0;
    const limit = Math.min(params.limit ?? 100, 100);
    const entities = new Map<string, Entity>();
    for (const e of [...this.users, ...this.chats.map((c) => c.entity), this.me]) entities.set(utils.getPeerId(e), e);
    const page = chat.messages
      .filter((m) => m.id > minId)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit);
    for (const m of page) if (!(m instanceof Api.MessageEmpty)) m._entities = entities;
    return page;
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.connected = false;
  }
}

/**
 * Time that passes only when slept: `sleep` records the wait and moves the clock on at once. Sleeps
 * of `holdAbove` ms or more wait until `release()` (or their signal aborts), for tests that stop a
 * scraper while a job is parked.
 */
export class FakeClock implements Clock {
  t: number;
  readonly sleeps: number[] = [];
  private readonly holdAbove: number;
  private held: (() => void)[] = [];

  constructor(start = Date.UTC(2025, 0, 1), opts: { holdAbove?: number } = {}) {
    this.t = start;
    this.holdAbove = opts.holdAbove ?? Infinity;
  }

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    if (ms >= this.holdAbove) {
      await new Promise<void>((resolve, reject) => {
        this.held.push(resolve);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    this.t += ms;
  }

  /** Lets every held sleep end. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }
}
