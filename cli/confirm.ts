/**
 * Asking before something that cannot be undone (`tglens forget`). On a terminal the person says
 * yes or no; `--yes` says it in advance. With no terminal to ask and no `--yes` (a script, a pipe),
 * the answer is no: a script that forgets chats says so explicitly.
 */
import readline from "node:readline/promises";
import type { Readable } from "node:stream";
import { TglensError } from "../services/common/errors.ts";

export interface ConfirmIo {
  input: Readable & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

const terminal: ConfirmIo = { input: process.stdin, output: process.stderr };

/** Refuses at once, before any work, when confirmation is needed and no one can give it. */
export function assertCanConfirm(action: string, yes: boolean, io: ConfirmIo = terminal): void {
  if (!yes && !io.input.isTTY) throw new TglensError("TGLENS_BAD_REQUEST", `${action} cannot be undone; not on a terminal, so add --yes to confirm`);
}

/** true when `yes` was given or the person answers y/yes; anything else is no. */
export async function confirm(question: string, yes: boolean, io: ConfirmIo = terminal): Promise<boolean> {
  if (yes) return true;
  const rl = readline.createInterface({ input: io.input, output: io.output, terminal: Boolean(io.input.isTTY) });
  const ended = new AbortController();
  rl.once("close", () => ended.abort());
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: ended.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false; // the input ended (Ctrl-D)
  } finally {
    rl.close();
  }
}
