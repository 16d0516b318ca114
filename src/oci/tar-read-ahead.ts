/**
 * Reads small files ahead of the tar writer.
 *
 * Why: a tree of many small files, read one after another, is bound by the
 * latency of opening and reading each, not by the disk: packing 20,000
 * files left the compressor threads idle half the time. Files that only
 * have open() are started here, so several of their streams are in flight
 * while the current one is written. Files with a host path are not: a
 * blocking read when their turn comes (tar-writer.ts) waits on nothing. Memory stays bounded: only
 * files up to MAX_FILE bytes are read ahead, at most MAX_BYTES at once.
 */
import type { Readable } from "node:stream";
import type { LayerEntry } from "./layer-entry.js";
import { checkedContent } from "./tar-content.js";

/** Entries looked at ahead of the one being written. */
const WINDOW = 64;
/** Files larger than this are read when their turn comes. */
const MAX_FILE = 256 * 1024;
/** Bytes read ahead at most. */
const MAX_BYTES = 2 * 1024 * 1024;

export interface AheadEntry {
  entry: LayerEntry;
  /** The file's whole content, when it was read ahead. */
  content?: Promise<Buffer[]>;
}

interface Held extends AheadEntry {
  size: number;
  cancel?: () => void;
}

export async function* readAhead(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): AsyncGenerator<AheadEntry> {
  const it = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : (entries as Iterable<LayerEntry>)[Symbol.iterator]();
  const window: Held[] = [];
  let bytes = 0;
  let done = false;
  try {
    for (;;) {
      while (!done && window.length < WINDOW && bytes < MAX_BYTES) {
        const r = await it.next();
        if (r.done) {
          done = true;
          break;
        }
        const held = hold(r.value);
        bytes += held.size;
        window.push(held);
      }
      const next = window.shift();
      if (!next) return;
      bytes -= next.size;
      yield { entry: next.entry, content: next.content };
    }
  } finally {
    // Stopped early (an error, or the reader went away): release every file still open.
    for (const h of window) h.cancel?.();
    if (!done) await it.return?.();
  }
}

function hold(e: LayerEntry): Held {
  const size = e?.type === "file" ? e.size ?? 0 : 0;
  if (!(size > 0 && size <= MAX_FILE)) return { entry: e, size: 0 };
  // A host file is read when its turn comes (tar-writer.ts): a blocking read gains nothing from going early.
  if (typeof e.hostPath === "string") return { entry: e, size: 0 };
  if (typeof e.open === "function") return { entry: e, size, ...startRead(e, size) };
  return { entry: e, size: 0 };
}

function startRead(e: LayerEntry, size: number): { content: Promise<Buffer[]>; cancel: () => void } {
  let source: Readable | undefined;
  let cancelled = false;
  const content = (async () => {
    const s = await e.open!();
    source = s as Readable;
    const parts: Buffer[] = [];
    // checkedContent destroys the source when it ends or fails.
    if (!cancelled) for await (const b of checkedContent(e, size, s)) parts.push(b);
    else source.destroy?.();
    return parts;
  })();
  content.catch(() => {});
  return {
    content,
    cancel: () => {
      cancelled = true;
      source?.destroy?.();
    },
  };
}
