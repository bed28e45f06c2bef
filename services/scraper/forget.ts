/**
 * The scraper's part of forgetting a chat (a forget on control-topic, common/forget.ts): its raw
 * records and live-reading checkpoint, the jobs of its job book that name the chat (removed when
 * they name only it, the chat taken out of the others), the parked live reads of the chat (so none
 * resumes it) and the uploaded exports of those jobs still waiting to be read. Nothing of another
 * service: they forget their own.
 *
 * A chat is forgotten after its imports: messages still under way when the forget arrives go on to
 * be stored, and forgetting the chat again removes them.
 */
import { deleteScraperChatFiles, removeFiles, uploadFile } from "../common/data-files.ts";
import type { Removed } from "../common/forget.ts";
import type { JobTracker } from "../common/job-tracker.ts";
import { removeParkedJobs } from "./telegram/parking.ts";

/** Job ids name files (uploads): only ids such as newJobId makes are taken. */
const FILE_SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export async function forgetScrapedChat(deps: { dataDir: string; tracker: Pick<JobTracker, "forgetChat"> }, chatId: string): Promise<Removed> {
  const { dataDir } = deps;
  const files = await deleteScraperChatFiles(dataDir, chatId);
  const jobs = deps.tracker.forgetChat(chatId);
  const ofChat = new Set([...jobs.removed, ...jobs.scrubbed]);
  // A live read parked before it had resolved the chat names it only as the request did: by id, at best.
  const parked = await removeParkedJobs(
    dataDir,
    (request) => ofChat.has(request.job_id) || (request.source.kind === "telegram" && request.source.chat === chatId),
  );
  const uploads = await removeFiles([...ofChat].filter((id) => FILE_SAFE_ID.test(id)).map((id) => uploadFile(dataDir, id)));
  return {
    raw_files: files.raw,
    checkpoints: files.checkpoints,
    jobs: jobs.removed.length,
    jobs_scrubbed: jobs.scrubbed.length,
    parked,
    uploads,
  };
}
