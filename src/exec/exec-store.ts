/**
 * What an exec needs of a store, and nothing of how a store lays itself
 * out: blobs (the image's layers in, the step's layer out), folders for
 * private state by kind (snapshots, runtime state, podman), temp paths on
 * the blobs' filesystem, and named locks. The store implements it; the
 * engine hands it in, and binds it in the helper process (engine/exec-helper.ts).
 */
import type { BlobStore } from "../oci/blob-store.js";

export interface ExecStore extends BlobStore {
  /** Where the store is: the helper process opens the same store by it. */
  readonly root: string;
  /** The folder for private state of one kind, created on demand and reachable by nobody else. */
  stateDir(kind: string): Promise<string>;
  /** Runs `fn` holding the named store-wide lock; `waitForever` for locks held across user work. */
  withLock<T>(name: string, fn: () => Promise<T>, opts?: { waitForever?: boolean }): Promise<T>;
  /** Takes the named lock if it is free now; undefined when someone else holds it. */
  tryLock(name: string): Promise<(() => Promise<void>) | undefined>;
}

/**
 * Opens the store at a root in the helper process. Opening one also sweeps
 * the temp files of processes that are gone, which the reaper relies on.
 */
export type OpenExecStore = (root: string) => Promise<ExecStore>;
