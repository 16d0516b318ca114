/**
 * What oci/ and registry/ need of a content-addressed store, and nothing
 * more: put with verification, read with verification, ranges, and temp
 * files on the store's own filesystem for writers that hash as they write.
 * The consumer owns the interface (DESIGN.md, "seams"); store/ implements
 * it. test/store/blob-store-conformance.test.ts holds the contract.
 */
import type { Readable } from "node:stream";
import type { Digest } from "./digest.js";

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface OpenBlobOpts {
  /** Check the bytes against the name (whole blobs only). */
  verify?: boolean;
  /** First byte, default 0. */
  start?: number;
  /** Last byte, inclusive; default the blob's end. */
  end?: number;
  /** Bytes per read; large sequential readers (uploads) want more than the default 64 KiB. */
  chunkSize?: number;
}

export interface BlobReader {
  /** Where the blobs are, for messages only (never to build paths from). */
  readonly location: string;
  hasBlob(digest: Digest, size?: number): Promise<boolean>;
  blobSize(digest: Digest): Promise<number | undefined>;
  /**
   * A fresh stream of a blob's bytes, `start`..`end` inclusive when given.
   * With `verify` (whole blobs only), the stream fails with DIGEST_MISMATCH
   * at its end if the bytes do not match the name; a missing blob is NOT_FOUND.
   */
  openBlob(digest: Digest, opts?: OpenBlobOpts): Readable;
  /** A whole (small) blob, its digest checked. */
  readBlob(digest: Digest): Promise<Buffer>;
  readJson<T>(digest: Digest): Promise<T>;
}

export interface BlobWriter {
  /**
   * Whether a blob is present, for a caller about to rely on it instead of
   * writing it: it is marked as used first, so a garbage collection racing
   * the call either keeps it or has already removed it (then: false).
   */
  claimBlob(digest: Digest, size?: number): Promise<boolean>;
  /**
   * Stores bytes as a blob. With `expected`, content whose digest or size
   * differs is refused (DIGEST_MISMATCH) and nothing is stored. Idempotent:
   * bytes already present are a success, not an error.
   */
  putBlob(source: Readable | Uint8Array | string, expected?: Partial<BlobInfo>, signal?: AbortSignal): Promise<BlobInfo>;
  /** Stores a JSON value in lading's fixed serialisation. */
  putJson(value: unknown): Promise<BlobInfo & { bytes: Buffer }>;
  /** A fresh path on the blobs' filesystem for a writer to fill, then hand to putFile or adoptFile. */
  tempPath(prefix?: string): string;
  /** Moves a filled temp file into place, hashing it first; the file is gone afterwards either way. */
  putFile(tmp: string, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
  /** The same without reading it again, for writers that hashed what they wrote (`computed`). */
  adoptFile(tmp: string, computed: BlobInfo, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
}

export type BlobStore = BlobReader & BlobWriter;

/** The first `n` bytes of a blob (fewer if it is shorter): enough to tell its compression. */
export async function readBlobHead(blobs: BlobReader, digest: Digest, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of blobs.openBlob(digest, { start: 0, end: n - 1 })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
