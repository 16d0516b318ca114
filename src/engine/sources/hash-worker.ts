/**
 * Worker thread body for file-hasher.ts: the sha256 of each file of a
 * batch, read with blocking calls (the thread has nothing else to do).
 */
import { parentPort } from "node:worker_threads";
import { hashFileSync } from "./hash-file.js";

export interface HashBatch {
  id: number;
  paths: string[];
}

export type HashResult = { id: number; digests: string[] } | { id: number; error: string; code?: string };

const buf = Buffer.allocUnsafe(256 * 1024);

parentPort!.on("message", (batch: HashBatch) => {
  let result: HashResult;
  try {
    result = { id: batch.id, digests: batch.paths.map((p) => hashFileSync(p, buf)) };
  } catch (err) {
    result = { id: batch.id, error: (err as Error)?.message ?? String(err), code: (err as NodeJS.ErrnoException)?.code };
  }
  parentPort!.postMessage(result);
});
