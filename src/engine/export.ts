/** Export and publish: finalize one image (or an index of platform variants) and write it out. */
import { LadingError } from "../errors.js";
import { MediaType } from "../oci/mediatypes.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import type { ContainerNode } from "./ops.js";
import type { StepContext } from "./step-context.js";
import { finalizeImage, type FinalizeOptions } from "./finalize.js";
import { runStep } from "./steps/run-step.js";
import { ensureLayers } from "./registry-cache/lazy.js";

export interface ImageOutputOptions extends FinalizeOptions {
  /** Other platforms' builds of the same image: with them, an index is written. */
  platformVariants?: ContainerNode[];
}

/** The stored root descriptor (a manifest, or an index over platform variants) of a container. */
export async function finalizeRoot(ev: StepContext, node: ContainerNode, opts: ImageOutputOptions = {}): Promise<Descriptor> {
  const nodes = [node, ...(opts.platformVariants ?? [])];
  const states = await Promise.all(nodes.map((n) => ev.container(n)));
  const built = [];
  for (const s of states) built.push(await finalizeImage(ev.session, s, opts));
  if (built.length === 1) return built[0]!.manifest;
  const seen = new Set<string>();
  for (const b of built) {
    const p = `${b.manifest.platform?.os}/${b.manifest.platform?.architecture}/${b.manifest.platform?.variant ?? ""}`;
    if (seen.has(p)) throw new LadingError("INVALID_ARGUMENT", `two platform variants are both for ${p.replace(/\/$/, "")}`);
    seen.add(p);
  }
  const docker = (opts.mediaTypes ?? ev.session.config.mediaTypes) === "Docker";
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifestList : MediaType.ociIndex,
    // Each descriptor carries its manifest's annotations, as index.json's entry does for a single image:
    // a reader of the index sees them without fetching every manifest.
    manifests: built.map((b) => ({ mediaType: b.manifest.mediaType, digest: b.manifest.digest, size: b.manifest.size, platform: b.manifest.platform, ...(b.manifest.annotations ? { annotations: { ...b.manifest.annotations } } : {}) })),
  };
  const info = await ev.session.store.putJson(index);
  return { mediaType: index.mediaType!, digest: info.digest, size: info.size };
}

/**
 * finalizeRoot, with every layer in the store: for what writes the image
 * out or names it (a step taken from a registry build cache leaves its
 * layer in the registry until then).
 */
export async function finalizeComplete(ev: StepContext, node: ContainerNode, opts: ImageOutputOptions = {}): Promise<Descriptor> {
  const root = await finalizeRoot(ev, node, opts);
  const states = await Promise.all([node, ...(opts.platformVariants ?? [])].map((n) => ev.container(n)));
  await ensureLayers(ev.session, states.flatMap((s) => s.layers));
  return root;
}

export async function exportContainer(ev: StepContext, node: ContainerNode, path: string, opts: ImageOutputOptions & { tag?: string } = {}): Promise<Descriptor> {
  const root = await finalizeComplete(ev, node, opts);
  const attributes = { "lading.output.digest": root.digest, "lading.output.path": path };
  // Loaded here, not with the module: a push finalizes through this file too and writes no archive.
  const { writeImageArchive } = await import("../oci/archive-export.js");
  await runStep(ev.session, { id: `export:${path}`, name: `export ${path}`, attributes }, () => writeImageArchive(ev.session.store, root, path, { refName: opts.tag, signal: ev.session.config.signal }), false);
  return root;
}

/** Writes the image into an OCI image layout folder (created if missing), named `tag` there. */
export async function exportLayout(ev: StepContext, node: ContainerNode, dir: string, opts: ImageOutputOptions & { tag?: string } = {}): Promise<Descriptor> {
  const root = await finalizeComplete(ev, node, opts);
  return runStep(ev.session, { id: `export:${dir}`, name: `export ${dir}`, attributes: { "lading.output.digest": root.digest, "lading.output.path": dir } }, () => writeLayout(ev, root, dir, opts.tag), false);
}

async function writeLayout(ev: StepContext, root: Descriptor, dir: string, tag: string | undefined): Promise<Descriptor> {
  const { Store } = await import("../store/store.js");
  const { collectBlobs } = await import("../oci/archive-export.js");
  const target = await Store.openLayout(dir);
  const src = ev.session.store;
  if (target.root !== src.root) {
    const { blobs } = await collectBlobs(src, root);
    for (const b of blobs) {
      if (!(await target.hasBlob(b.digest, b.size))) await target.putBlob(src.openBlob(b.digest), { digest: b.digest, size: b.size });
    }
  }
  if (tag) await target.tag(tag, root);
  else await target.tag(root.digest, root);
  return root;
}
