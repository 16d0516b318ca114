/**
 * What registry/ needs of the local store: blobs (oci/blob-store.ts), the
 * pins that turn a tag into the digest last resolved, and a private folder
 * for its own records (where blobs came from, for cross-repository mounts).
 */
import type { BlobStore } from "../oci/blob-store.js";
import type { Digest } from "../oci/digest.js";

export interface Pin {
  digest: Digest;
  mediaType?: string;
  size?: number;
}

export interface PinStore {
  getPin(reference: string): Promise<(Pin & { reference: string }) | undefined>;
  setPin(reference: string, pin: Pin): Promise<void>;
}

export interface RegistryStore extends BlobStore, PinStore {
  /** A folder for one kind of private state, created on demand. */
  stateDir(kind: string): Promise<string>;
}
