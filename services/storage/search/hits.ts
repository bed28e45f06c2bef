/**
 * Search hits as every search mode orders and identifies them, so that merged lists (several
 * chats, or two lists fused) come out in one deterministic order.
 */
import type { SearchHit } from "../types.ts";

/** A message's identity across chats. */
export function hitKey(h: Pick<SearchHit, "chat_id" | "message_id">): string {
  return `${h.chat_id}\u0000${h.message_id}`;
}

/** Best score first; ties by newer date, then chat id, then message id. */
export function hitOrder(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || b.date - a.date || (a.chat_id < b.chat_id ? -1 : a.chat_id > b.chat_id ? 1 : 0) || a.message_id - b.message_id;
}
