// What an image in an OCI layout holds, read straight from its layers (no
// unpacking, no root needed, owners as recorded): the flattened file tree
// as path → "type mode uid:gid hash|target" and the config fields a user
// can observe. Whiteouts and opaque directories apply to the layers below
// their own, as the OCI layer spec says.
import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";

function blobPath(layout, digest) {
  const [alg, hex] = digest.split(":");
  return join(layout, "blobs", alg, hex);
}
const readJson = (layout, digest) => JSON.parse(readFileSync(blobPath(layout, digest), "utf8"));

/** The image manifest `tag` names in the layout (the first image when untagged or an index of platforms). */
function findManifest(layout, tag) {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  let desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag) ?? index.manifests[0];
  for (let depth = 0; desc && /index|manifest\.list/.test(desc.mediaType) && depth < 4; depth++) desc = readJson(layout, desc.digest).manifests[0];
  if (!desc) throw new Error(`${layout}: no image in index.json`);
  return readJson(layout, desc.digest);
}

/** Every entry of one layer, in order: { path, type, mode, uid, gid, hash?, linkname?, dev? }. */
async function layerEntries(layout, layer) {
  const entries = [];
  const extract = tar.extract();
  extract.on("entry", (h, stream, next) => {
    const path = h.name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
    const e = { path, type: h.type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, linkname: h.linkname };
    if (h.type === "character-device" || h.type === "block-device") e.dev = `${h.devmajor}:${h.devminor}`;
    const hash = createHash("sha256");
    stream.on("data", (c) => hash.update(c));
    stream.on("end", () => {
      if (h.type === "file" || h.type === "contiguous-file") e.hash = hash.digest("hex");
      entries.push(e);
      next();
    });
    stream.resume();
  });
  const media = layer.mediaType ?? "";
  if (/zstd/.test(media)) throw new Error(`${layer.digest}: zstd layers are not read here (build with gzip)`);
  const stages = [createReadStream(blobPath(layout, layer.digest))];
  if (/gzip/.test(media) || media.endsWith("diff.tar.gzip")) stages.push(createGunzip());
  stages.push(extract);
  await pipeline(stages);
  return entries;
}

function describe(e) {
  const meta = `${e.mode.toString(8)} ${e.uid}:${e.gid}`;
  switch (e.type) {
    case "directory": return `dir ${meta}`;
    case "symlink": return `symlink ${e.uid}:${e.gid} -> ${e.linkname}`;
    case "file": case "contiguous-file": return `file ${meta} ${e.hash}`;
    case "character-device": case "block-device": return `${e.type} ${meta} ${e.dev}`;
    case "fifo": return `fifo ${meta}`;
    default: return `${e.type} ${meta}`;
  }
}

function removeTree(files, path, keepSelf = false) {
  if (!keepSelf) files.delete(path);
  const prefix = path === "" ? "" : path + "/";
  for (const k of [...files.keys()]) if (k.startsWith(prefix) && k !== path) files.delete(k);
}

/** { files: Map(path → description), config: the observable config fields }. */
export async function readImage(layout, tag) {
  const manifest = findManifest(layout, tag);
  const blob = readJson(layout, manifest.config.digest);
  const files = new Map();
  for (const layer of manifest.layers) {
    const entries = await layerEntries(layout, layer);
    // A layer's whiteouts hide what the layers below hold, never its own entries: applied first.
    for (const e of entries) {
      const slash = e.path.lastIndexOf("/");
      const dir = slash < 0 ? "" : e.path.slice(0, slash);
      const base = e.path.slice(slash + 1);
      if (base === ".wh..wh..opq") removeTree(files, dir, true);
      else if (base.startsWith(".wh.")) removeTree(files, (dir ? dir + "/" : "") + base.slice(4));
    }
    for (const e of entries) {
      const base = e.path.slice(e.path.lastIndexOf("/") + 1);
      if (base.startsWith(".wh.") || e.path === "") continue;
      // A hard link is what it links to; anything but a directory replaces a whole tree.
      const desc = e.type === "link" ? files.get(e.linkname.replace(/^(\.\/|\/)+/, "")) ?? `link -> ${e.linkname}` : describe(e);
      if (e.type !== "directory") removeTree(files, e.path);
      // A parent the layer does not list is made as unpackers make it (umoci, containerd: 0755, root).
      for (let i = e.path.indexOf("/"); i > 0; i = e.path.indexOf("/", i + 1)) if (!files.has(e.path.slice(0, i))) files.set(e.path.slice(0, i), "dir 755 0:0");
      files.set(e.path, desc);
    }
  }
  const c = blob.config ?? {};
  const config = {
    Env: c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir, User: c.User,
    Labels: c.Labels, ExposedPorts: c.ExposedPorts, Volumes: c.Volumes, StopSignal: c.StopSignal, author: blob.author,
  };
  return { files, config };
}
