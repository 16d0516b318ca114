/** Worker thread body for gzip-parallel.ts: deflates the blocks it is sent, in place in shared memory. */
import { parentPort } from "node:worker_threads";
import { deflateBlock, slotViews } from "./gzip-parallel-block.js";

export interface BlockJob {
  id: number;
  /** The stream's block memory; the job's block is slot `slot` (see SLOT_SIZE). */
  memory: SharedArrayBuffer;
  slot: number;
  dictLength: number;
  length: number;
  last: boolean;
  level: number;
}
/** outLength: the output is in the slot's output area; out: it did not fit there (never expected). */
export type BlockResult = { id: number; outLength: number } | { id: number; out: Uint8Array } | { id: number; error: string };

parentPort!.on("message", (job: BlockJob) => {
  let result: BlockResult;
  try {
    const v = slotViews(job.memory, job.slot, job.dictLength, job.length);
    const out = deflateBlock(v.data, v.dict, job.last, job.level);
    if (out.length <= v.out.length) {
      v.out.set(out);
      result = { id: job.id, outLength: out.length };
    } else result = { id: job.id, out: out.slice() };
  } catch (err) {
    result = { id: job.id, error: (err as Error)?.message ?? String(err) };
  }
  parentPort!.postMessage(result, "out" in result ? [result.out.buffer as ArrayBuffer] : []);
});
