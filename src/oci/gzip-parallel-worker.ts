/**
 * Worker thread body for gzip-parallel.ts: reads a block's pieces of host
 * files into it, then deflates it, in place in shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LadingError } from "../errors.js";
import { compressBlock, useDeflateModule, type PackedReads } from "./gzip-parallel-block.js";
import type { ChainsRef } from "./hash-chains.js";

export interface BlockJob {
  id: number;
  /** The stream's block memory; the job's block is slot `slot` (see SLOT_SIZE). */
  memory: SharedArrayBuffer;
  slot: number;
  length: number;
  last: boolean;
  level: number;
  /** Parts of the block to read from host files first (the rest is in place already). */
  reads: PackedReads;
  /** See BlockInput.hashFiles. */
  hashFiles?: boolean;
  /** See BlockInput.chains. */
  chains?: ChainsRef;
}
/**
 * crc: the CRC-32 of the block's input. outLength: the output is in the
 * slot's output area; out: it did not fit there (never expected). error:
 * with the LadingError code when the block's own input was at fault.
 * digests: when asked for (hashFiles), of the files read whole into the
 * block.
 */
export type BlockResult =
  | { id: number; crc: number; outLength: number; digests?: string[] }
  | { id: number; crc: number; out: Uint8Array; digests?: string[] }
  | { id: number; error: string; code?: string };

// The main thread's compiled module (when WebAssembly does the work): compiling it again here would cost each worker ~10 ms.
const { deflateModule } = workerData as { deflateModule?: WebAssembly.Module };
if (deflateModule) useDeflateModule(deflateModule);

parentPort!.on("message", (job: BlockJob) => {
  let result: BlockResult;
  try {
    const { crc, out, inPlace, digests } = compressBlock(job);
    result = inPlace ? { id: job.id, crc, outLength: out.length, digests } : { id: job.id, crc, out: out.slice(), digests };
  } catch (err) {
    result = { id: job.id, error: (err as Error)?.message ?? String(err), code: err instanceof LadingError ? err.code : undefined };
  }
  parentPort!.postMessage(result, "out" in result ? [result.out.buffer as ArrayBuffer] : []);
});
