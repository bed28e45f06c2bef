/**
 * Finds the chat a person means: its id, its @username, its exact name (any case), or a part of
 * its name that only one chat has. Ambiguity is reported rather than guessed.
 */
export interface NamedChat {
  chat_id: string;
  name: string;
  username?: string | null;
}

export type ChatMatch<T extends NamedChat> = { chat: T } | { none: true } | { several: T[] };

export function matchChat<T extends NamedChat>(input: string, chats: readonly T[]): ChatMatch<T> {
  const wanted = input.trim();
  const lower = wanted.toLowerCase();
  const handle = lower.replace(/^@/, "").replace(/^(https?:\/\/)?t\.me\//, "").split("/")[0]!;
  const exact = chats.filter((c) => c.chat_id === wanted || (c.username && c.username.toLowerCase() === handle) || c.name.toLowerCase() === lower);
  if (exact.length === 1) return { chat: exact[0]! };
  if (exact.length > 1) return { several: exact };
  const partial = chats.filter((c) => c.name.toLowerCase().includes(lower));
  if (partial.length === 1) return { chat: partial[0]! };
  return partial.length === 0 ? { none: true } : { several: partial };
}
