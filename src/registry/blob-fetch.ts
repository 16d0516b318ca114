/**
 * Downloads one blob into the store (distribution-rules §2): streamed to a
 * temp file in the store, resumed with `Range` from the bytes already
 * written when the connection breaks mid-body, never longer than the
 * descriptor says, and moved into place only after digest and size match
 * (RegistryStore.putFile). On failure the temp file is removed: nothing unverified
 * stays.
 */
import { createHash } from "node:crypto";
import { open, rm, stat } from "node:fs/promises";
import { LadingError } from "../errors.js";
import type { Descriptor } from "../oci/types.js";
import type { RegistryStore } from "./registry-store.js";
import { pullScope, type RegistryWire } from "./wire.js";
import type { Reference } from "./reference.js";
import { registryError } from "./transport/errors.js";
import { sleep } from "./transport/retry.js";
import { discard, header } from "./transport/types.js";

/** A body that ended cleanly but early: resumed like a broken connection. */
class ShortBody extends Error {}

/** Counts bytes against the descriptor's size and reports progress. */
class SizeGuard {
  constructor(
    private seen: number,
    private readonly limit: number,
    private readonly what: string,
    private readonly onBytes: (n: number) => void,
  ) {}
  check(chunk: Buffer): void {
    const before = this.seen;
    this.seen += chunk.length;
    if (this.seen > this.limit) throw new LadingError("DIGEST_MISMATCH", `${this.what}: the registry sent more than the ${this.limit} bytes the descriptor gives; refusing it`);
    // Progress at most once per MiB: a listener per 64 KiB chunk would cost more than the copy.
    if (before >> 20 !== this.seen >> 20) this.onBytes(this.seen);
  }
}

export async function fetchBlob(client: RegistryWire, ref: Reference, desc: Descriptor, store: RegistryStore, signal?: AbortSignal): Promise<"fetched" | "present"> {
  const progress = client.config.onProgress;
  if (await store.claimBlob(desc.digest, desc.size)) {
    progress?.({ kind: "blob", digest: desc.digest, bytes: desc.size, total: desc.size, done: true, skipped: true });
    return "present";
  }
  const what = `blob ${desc.digest} of ${ref.registry}/${ref.repository}`;
  const url = client.repoUrl(ref, `blobs/${desc.digest}`);
  const tmp = store.tempPath("pull");
  let written = 0;
  let failures = 0;
  // Hashed as written, so the finished file is moved into place without a second read.
  let hash = createHash("sha256");
  let hashed = 0;
  try {
    while (written < desc.size || desc.size === 0) {
      const headers: Record<string, string> = { "accept-encoding": "identity" };
      if (written > 0) headers.range = `bytes=${written}-`;
      const req = { method: "GET" as const, url, headers, scopes: [pullScope(ref)] };
      const res = await client.send(req, signal);
      if (written > 0 && res.statusCode === 206) {
        const start = /^bytes (\d+)-/.exec(header(res, "content-range") ?? "")?.[1];
        if (start !== undefined && Number(start) !== written) {
          await discard(res);
          throw new LadingError("REGISTRY", `${what}: asked to resume at byte ${written}, the registry answered from byte ${start}`);
        }
      } else if (res.statusCode === 200) {
        written = 0; // no range support: start over, truncating what we had
        hash = createHash("sha256");
        hashed = 0;
      } else {
        throw await registryError(req, res, `fetching ${what}`);
      }
      try {
        // Chunks are written as they come (not through a pipeline that drops
        // buffered writes on error), so after a break the file holds every
        // byte received and the resume asks for exactly the rest.
        const guard = new SizeGuard(written, desc.size, what, (n) => progress?.({ kind: "blob", digest: desc.digest, bytes: n, total: desc.size }));
        const fh = await open(tmp, written > 0 ? "a" : "w");
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            guard.check(chunk);
            await fh.write(chunk);
            hash.update(chunk);
            hashed += chunk.length;
          }
        } finally {
          await fh.close();
        }
        written = (await stat(tmp)).size;
        if (written >= desc.size) break;
        throw new ShortBody(`the body ended after ${written} of ${desc.size} bytes`);
      } catch (err) {
        if (signal?.aborted) throw new LadingError("CANCELLED", `pull of ${what} cancelled`, { cause: err });
        if (err instanceof LadingError) throw err;
        // A broken connection mid-body: keep what arrived and ask for the rest.
        written = await stat(tmp).then((s) => s.size, () => 0);
        if (++failures > client.config.retries) {
          throw new LadingError("NETWORK", `${what}: the download broke ${failures} times (last at byte ${written} of ${desc.size}): ${(err as Error).message}`, { cause: err });
        }
        await sleep(client.config.retryBaseDelayMs * 2 ** (failures - 1), signal);
      }
    }
    if (hashed === written) await store.adoptFile(tmp, { digest: `sha256:${hash.digest("hex")}`, size: hashed }, { digest: desc.digest, size: desc.size });
    else await store.putFile(tmp, { digest: desc.digest, size: desc.size });
  } catch (err) {
    if (err instanceof LadingError && err.code === "DIGEST_MISMATCH" && !err.message.includes(desc.digest)) {
      throw new LadingError("DIGEST_MISMATCH", `${what}: ${err.message}; the registry served wrong content, nothing was stored`, { cause: err });
    }
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  progress?.({ kind: "blob", digest: desc.digest, bytes: desc.size, total: desc.size, done: true });
  return "fetched";
}
