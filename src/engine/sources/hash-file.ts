/**
 * The sha256 of a host file listed by a walk, with blocking reads into a
 * caller's reused buffer: for the small files a build context is mostly
 * made of, an async read costs a thread-pool round trip per call, ~15× the
 * CPU.
 */
import { createHash } from "node:crypto";
import { closeSync, readSync } from "node:fs";
import type { Digest } from "../../oci/digest.js";
import { openListedFile } from "../../fsutil/listed-file.js";

export function hashFileSync(path: string, buf: Buffer): Digest {
  const h = createHash("sha256");
  const fd = openListedFile(path);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest("hex")}`;
}
