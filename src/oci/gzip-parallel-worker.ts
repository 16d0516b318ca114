/** Worker thread body for gzip-parallel.ts: deflates the blocks it is sent, in place in shared memory. */
import { parentPort, workerData } from "node:worker_threads";
import { crc32 } from "node:zlib";
import { deflateBlock, slotViews, useDeflateModule } from "./gzip-parallel-block.js";

export interface BlockJob {
  id: number;
  /** The stream's block memory; the job's block is slot `slot` (see SLOT_SIZE). */
  memory: SharedArrayBuffer;
  slot: number;
  length: number;
  last: boolean;
  level: number;
}
/**
 * crc: the CRC-32 of the block's input. outLength: the output is in the
 * slot's output area; out: it did not fit there (never expected).
 */
export type BlockResult = { id: number; crc: number; outLength: number } | { id: number; crc: number; out: Uint8Array } | { id: number; error: string };

// The main thread's compiled module: compiling it again here would cost each worker ~10 ms.
useDeflateModule((workerData as { deflateModule: WebAssembly.Module }).deflateModule);

parentPort!.on("message", (job: BlockJob) => {
  let result: BlockResult;
  try {
    const v = slotViews(job.memory, job.slot, job.length);
    const crc = crc32(v.data);
    const out = deflateBlock(v.data, job.last, job.level);
    if (out.length <= v.out.length) {
      v.out.set(out);
      result = { id: job.id, crc, outLength: out.length };
    } else result = { id: job.id, crc, out: out.slice() };
  } catch (err) {
    result = { id: job.id, error: (err as Error)?.message ?? String(err) };
  }
  parentPort!.postMessage(result, "out" in result ? [result.out.buffer as ArrayBuffer] : []);
});
