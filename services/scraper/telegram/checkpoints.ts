/**
 * Where live reading of each chat got to: data/checkpoints/<chat_id>.json holds the id of the last
 * message read (published, or skipped as a service message) and is written atomically (temp file,
 * fsync, rename) only after that page was published to preprocess-topic. So a restart resumes
 * after the last published page: nothing is lost, and at most the one page in flight at a crash is
 * published twice, which the idempotent sinks absorb (the bus is at-least-once anyway). The next
 * scrape of a chat starts after its checkpoint and so reads only newer messages.
 *
 * The checkpoint also remembers which job wrote it and how many messages that job has taken, so a
 * job resumed after a crash or a parked FloodWait keeps counting towards its `limit`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { checkpointFile, checkpointsDir } from "../../common/data-files.ts";
import { TglensError } from "../../common/errors.ts";
import { writeFileAtomic } from "../../common/atomic-file.ts";

export interface Checkpoint {
  chat_id: string;
  /** The last message read; the next read asks for messages after it. */
  last_message_id: number;
  /** The job that wrote this checkpoint, and the messages it has taken so far. */
  job_id: string;
  job_messages: number;
  updated_at: string;
}

export { checkpointFile, checkpointsDir };

export async function readCheckpoint(dataDir: string, chatId: string): Promise<Checkpoint | undefined> {
  const file = checkpointFile(dataDir, chatId);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const cp = JSON.parse(text) as Partial<Checkpoint>;
  if (cp.chat_id !== chatId || !Number.isSafeInteger(cp.last_message_id) || typeof cp.job_id !== "string" || !Number.isSafeInteger(cp.job_messages)) {
    // Written atomically, so this is not a torn write: someone edited it. Guessing could skip messages.
    throw new TglensError("TGLENS_INTERNAL", `checkpoint ${file} is not valid; fix or remove it (removing it re-reads the chat from its start)`);
  }
  return cp as Checkpoint;
}

export async function writeCheckpoint(dataDir: string, checkpoint: Omit<Checkpoint, "updated_at">): Promise<void> {
  const file = checkpointFile(dataDir, checkpoint.chat_id);
  await fs.mkdir(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify({ ...checkpoint, updated_at: new Date().toISOString() }) + "\n");
}
