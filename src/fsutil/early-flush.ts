/**
 * Flushes a file being written to disk as it grows, on libuv's threads.
 * Why: the store fsyncs a blob before it names it; a layer of ~130 MB
 * written at full speed leaves all of it dirty, and that fsync then took
 * ~50 ms at the end of a build with nothing else to do meanwhile. Flushed
 * every FLUSH_EVERY bytes while the rest is still being compressed, the
 * last fsync has only the tail to write. A flush that fails is not reported
 * here: the fsync that must succeed comes after.
 */
import { fdatasync } from "node:fs";

const FLUSH_EVERY = 16 * 1024 * 1024;

export class EarlyFlush {
  private unflushed = 0;
  private flushing?: Promise<void>;

  constructor(private readonly fd: number) {}

  /** Counts `n` bytes written; starts a flush when enough are waiting and none is running. */
  wrote(n: number): void {
    this.unflushed += n;
    if (this.unflushed < FLUSH_EVERY || this.flushing) return;
    this.unflushed = 0;
    this.flushing = new Promise((done) =>
      fdatasync(this.fd, () => {
        this.flushing = undefined;
        done();
      }),
    );
  }

  /** Resolves once no flush is running: the file may then be closed. */
  async settled(): Promise<void> {
    await this.flushing;
  }
}
