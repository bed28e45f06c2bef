/**
 * Finds the chat a person means — in the bot and the CLI alike: its id, its @username (or t.me
 * link), its exact name (any case), or a part of its name that only one chat has. Ambiguity is
 * reported rather than guessed, and a number is an id or a whole name, never part of a name (so
 * `forget 777` cannot pick "Room 777").
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
  const handle = lower
    .replace(/^@/, "")
    .replace(/^(https?:\/\/)?t\.me\//, "")
    .split("/")[0]!;
  const exact = chats.filter((c) => c.chat_id === wanted || (c.username && c.username.toLowerCase() === handle) || c.name.toLowerCase() === lower);
  if (exact.length === 1) return { chat: exact[0]! };
  if (exact.length > 1) return { several: exact };
  if (lower === "" || /^-?\d+$/.test(lower)) return { none: true };
  const partial = chats.filter((c) => c.name.toLowerCase().includes(lower));
  if (partial.length === 1) return { chat: partial[0]! };
  return partial.length === 0 ? { none: true } : { several: partial };
}
