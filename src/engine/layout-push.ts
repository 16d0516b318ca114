/**
 * `push oci:DIR[:TAG] REF` and `from("oci:…").publish(…)` with nothing in
 * between: the image goes out as the layout holds it, so its layers are
 * uploaded straight from the layout, each verified while it is read
 * (oci/layout-blobs.ts), and only the manifest and config (small, needed
 * to name what was pushed) are copied into the store. Importing first read,
 * hashed and wrote the whole image, then read it again to upload: twice
 * skopeo's time for a 134 MB image. Anything else (a step after from(),
 * another media type, platform variants) goes through the evaluator, which
 * imports the layers as before.
 */
import { PassThrough, type Readable } from "node:stream";
import { resolve } from "node:path";
import type { Digest } from "../oci/digest.js";
import type { BlobInfo, OpenBlobOpts } from "../oci/blob-store.js";
import type { DeferredWrites } from "../oci/image-import.js";
import type { Descriptor } from "../oci/types.js";
import type { Pin, RegistryStore } from "../registry/registry-store.js";
import type { ContainerNode } from "./ops.js";
import type { StepContext } from "./step-context.js";
import type { ImageOutputOptions } from "./export.js";
import type { ImageState } from "./image-state.js";
import { localAddress } from "./steps/from.js";
import { runStep } from "./steps/run-step.js";
import { isFlavour } from "./finalize.js";

export interface LayoutPush {
  root: Descriptor;
  /** The session's store, with the layers left in the layout (and the manifest and config being stored) readable through it. */
  store: RegistryStore;
  /** The state before from(): its registry credentials are the push's. */
  parent: ImageState;
  /** Settles when the manifest and config are in the store (they are written while the push goes on); await it before done. */
  stored: Promise<void>;
}

/** The push of a bare `from(oci:…)`, or undefined when the container is anything else. */
export async function layoutPush(ev: StepContext, node: ContainerNode, opts: ImageOutputOptions): Promise<LayoutPush | undefined> {
  if (node.op.type !== "from" || !node.parent || opts.platformVariants?.length || opts.forcedCompression || opts.annotations) return undefined;
  const local = localAddress(node.op.address);
  if (local?.transport !== "oci") return undefined;
  const session = ev.session;
  const parent = await ev.container(node.parent);
  const address = node.op.address;
  const left = new Map<Digest, number>();
  // The manifest and config are verified into memory and stored while the push goes on: on a cold push their
  // fsyncs were waited for before the first request.
  const defer: DeferredWrites = { held: new Map(), writes: [] };
  const { importLayoutDir } = await import("../oci/image-import.js");
  let root: Descriptor;
  try {
    root = await runStep(session, { id: `from:${address}`, name: node.description ?? `FROM ${address}`, metadataOnly: true, attributes: { "lading.source": address } }, () =>
      importLayoutDir(session.store, local.path, local.tag, parent.platform, { leaveLayers: left, defer }),
    );
  } catch (err) {
    await Promise.allSettled(defer.writes); // nothing still writes in the store once this fails
    throw err;
  }
  const stored = Promise.all(defer.writes).then(() => undefined);
  stored.catch(() => {}); // the caller awaits it
  if (opts.mediaTypes && !isFlavour(root.mediaType, opts.mediaTypes)) {
    await stored;
    return undefined;
  }
  const { LayoutBlobs } = await import("../oci/layout-blobs.js");
  const abs = resolve(local.path);
  const store = left.size || defer.held.size ? new WithLayoutBlobs(session.store, new LayoutBlobs(abs, `oci:${abs}`), left, defer.held) : session.store;
  return { root: { mediaType: root.mediaType, digest: root.digest, size: root.size }, store, parent, stored };
}

/** A store that also reads the blobs `left` in the layout and the ones `held` in memory (read-only: writes go to the store). */
class WithLayoutBlobs implements RegistryStore {
  constructor(
    private readonly store: RegistryStore,
    private readonly layout: import("../oci/layout-blobs.js").LayoutBlobs,
    private readonly left: ReadonlyMap<Digest, number>,
    private readonly held: ReadonlyMap<Digest, Buffer>,
  ) {}

  get location(): string {
    return this.store.location;
  }
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    const s = this.left.get(digest) ?? this.held.get(digest)?.length;
    return s === undefined ? this.store.hasBlob(digest, size) : size === undefined || size === s;
  }
  async blobSize(digest: Digest): Promise<number | undefined> {
    return this.left.get(digest) ?? this.held.get(digest)?.length ?? this.store.blobSize(digest);
  }
  openBlob(digest: Digest, opts?: OpenBlobOpts): Readable {
    const s = this.left.get(digest);
    if (s !== undefined) return this.layout.open(digest, s, opts);
    const bytes = this.held.get(digest);
    if (bytes === undefined) return this.store.openBlob(digest, opts);
    return new PassThrough().end(bytes.subarray(opts?.start ?? 0, opts?.end === undefined ? undefined : opts.end + 1));
  }
  async readBlob(digest: Digest): Promise<Buffer> {
    return this.held.get(digest) ?? (this.left.has(digest) ? this.layout.read(digest) : this.store.readBlob(digest));
  }
  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }
  claimBlob(digest: Digest, size?: number): Promise<boolean> {
    return this.left.has(digest) || this.held.has(digest) ? this.hasBlob(digest, size) : this.store.claimBlob(digest, size);
  }
  putBlob(source: Readable | Uint8Array | string, expected?: Partial<BlobInfo>, signal?: AbortSignal): Promise<BlobInfo> {
    return this.store.putBlob(source, expected, signal);
  }
  putJson(value: unknown): Promise<BlobInfo & { bytes: Buffer }> {
    return this.store.putJson(value);
  }
  tempPath(prefix?: string): string {
    return this.store.tempPath(prefix);
  }
  putFile(tmp: string, expected?: Partial<BlobInfo>): Promise<BlobInfo> {
    return this.store.putFile(tmp, expected);
  }
  adoptFile(tmp: string, computed: BlobInfo, expected?: Partial<BlobInfo>): Promise<BlobInfo> {
    return this.store.adoptFile(tmp, computed, expected);
  }
  getPin(reference: string): Promise<(Pin & { reference: string }) | undefined> {
    return this.store.getPin(reference);
  }
  setPin(reference: string, pin: Pin): Promise<void> {
    return this.store.setPin(reference, pin);
  }
  stateDir(kind: string): Promise<string> {
    return this.store.stateDir(kind);
  }
}
