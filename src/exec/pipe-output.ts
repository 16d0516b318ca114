/** Hands a child's stdout and stderr to an OutputSink, pausing a pipe while the sink is busy. */
import type { Readable } from "node:stream";
import type { OutputSink, OutputStream } from "./job.js";

export function pipeOutput(streams: Partial<Record<OutputStream, Readable | null>>, sink: OutputSink): void {
  for (const name of ["stdout", "stderr"] as const) {
    const s = streams[name];
    if (!s) continue;
    s.on("data", (chunk: Buffer) => {
      const busy = sink(name, chunk);
      if (busy) {
        // The child's 'close' waits for this pipe's end, so the output stays ahead of the answer.
        s.pause();
        void busy.then(() => s.resume());
      }
    });
  }
}
