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
import type { Readable } from "node:stream";
import { resolve } from "node:path";
import type { Digest } from "../oci/digest.js";
import type { BlobInfo, OpenBlobOpts } from "../oci/blob-store.js";
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
  /** The session's store, with the layers left in the layout readable through it. */
  store: RegistryStore;
  /** The state before from(): its registry credentials are the push's. */
  parent: ImageState;
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
  const { importLayoutDir } = await import("../oci/image-import.js");
  const root = await runStep(session, { id: `from:${address}`, name: node.description ?? `FROM ${address}`, metadataOnly: true, attributes: { "lading.source": address } }, () =>
    importLayoutDir(session.store, local.path, local.tag, parent.platform, { leaveLayers: left }),
  );
  if (opts.mediaTypes && !isFlavour(root.mediaType, opts.mediaTypes)) return undefined;
  const { LayoutBlobs } = await import("../oci/layout-blobs.js");
  const abs = resolve(local.path);
  return { root: { mediaType: root.mediaType, digest: root.digest, size: root.size }, store: left.size ? new WithLayoutBlobs(session.store, new LayoutBlobs(abs, `oci:${abs}`), left) : session.store, parent };
}

/** A store that also reads the blobs `left` in the layout (read-only: writes go to the store). */
class WithLayoutBlobs implements RegistryStore {
  constructor(
    private readonly store: RegistryStore,
    private readonly layout: import("../oci/layout-blobs.js").LayoutBlobs,
    private readonly left: ReadonlyMap<Digest, number>,
  ) {}

  get location(): string {
    return this.store.location;
  }
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    const s = this.left.get(digest);
    return s === undefined ? this.store.hasBlob(digest, size) : size === undefined || size === s;
  }
  async blobSize(digest: Digest): Promise<number | undefined> {
    return this.left.get(digest) ?? this.store.blobSize(digest);
  }
  openBlob(digest: Digest, opts?: OpenBlobOpts): Readable {
    const s = this.left.get(digest);
    return s === undefined ? this.store.openBlob(digest, opts) : this.layout.open(digest, s, opts);
  }
  readBlob(digest: Digest): Promise<Buffer> {
    return this.left.has(digest) ? this.layout.read(digest) : this.store.readBlob(digest);
  }
  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }
  claimBlob(digest: Digest, size?: number): Promise<boolean> {
    return this.left.has(digest) ? this.hasBlob(digest, size) : this.store.claimBlob(digest, size);
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
