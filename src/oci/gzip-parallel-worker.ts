/** Worker thread body for gzip-parallel.ts: deflates the blocks it is sent. */
import { parentPort } from "node:worker_threads";
import { deflateBlock } from "./gzip-parallel-block.js";

export interface BlockJob {
  id: number;
  data: Uint8Array;
  dict?: Uint8Array;
  last: boolean;
  level: number;
}
export type BlockResult = { id: number; out: Uint8Array } | { id: number; error: string };

parentPort!.on("message", (job: BlockJob) => {
  let result: BlockResult;
  try {
    result = { id: job.id, out: deflateBlock(job.data, job.dict, job.last, job.level) };
  } catch (err) {
    result = { id: job.id, error: (err as Error)?.message ?? String(err) };
  }
  parentPort!.postMessage(result, "out" in result ? [result.out.buffer as ArrayBuffer] : []);
});
