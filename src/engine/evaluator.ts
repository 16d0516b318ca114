/**
 * Evaluates op graphs against the store. Each node is evaluated at most
 * once per evaluator (memo by node), and each keyed piece of work at most
 * once at a time (memo by cache key), so identical sub-graphs are computed
 * once; independent inputs are evaluated concurrently.
 */
import { posix, resolve } from "node:path";
import { LadingError } from "../errors.js";
import { sha256, type Digest } from "../oci/digest.js";
import { canonicalJson } from "../oci/json.js";
import type { Descriptor, LayerRef } from "../oci/types.js";
import type { ContainerNode, ContainerOp, DirectoryNode, FileNode, MountSpec } from "./ops.js";
import { layerTimes, type Session } from "./session.js";
import { applyConfigEdit, formatPlatform, parsePlatform, type ImageState } from "./image-state.js";
import { platformMatches } from "../oci/platform-match.js";
import { EMPTY_TREE, cleanRelPath, isWalked, makeTree, overlayTree, subTree, treeEntries, treeKey, withoutPath, type Tree, type TreeEntry } from "./tree.js";
import { loadImage, resolveImage } from "./steps/from.js";
import { runStep } from "./steps/run-step.js";
import { filterTree } from "./filter.js";
import type { FileValue, StepContext } from "./step-context.js";
import { registryCredentials } from "./registry-auth.js";
import { serviceKey } from "./service-key.js";

// Steps load on first use: a push or a metadata-only rebuild never needs the
// layer writers, the hashing workers, archives or a runtime (start-up time of
// every command, and test/cli/startup-loads.test.ts checks what loads).
const fileOps = () => import("./steps/file-ops.js");
const hostSources = () => import("./sources/host.js");
const rootfsReads = () => import("./steps/rootfs.js");

/** Ops that leave the image itself as it was read (mounts and secrets exist only while commands run). */
const KEEPS_PRISTINE = new Set(["from", "import", "mount", "unmount", "secretEnv", "registryAuth", "serviceBinding"]);

export class Evaluator implements StepContext {
  readonly session: Session;
  private readonly containers = new WeakMap<ContainerNode, Promise<ImageState>>();
  private readonly directories = new WeakMap<DirectoryNode, Promise<Tree>>();
  private readonly files = new WeakMap<FileNode, Promise<FileValue>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Names of trees in this evaluator, for steps that run before the tree's key is known. */
  private readonly treeIds = new WeakMap<Tree, number>();
  private nextTreeId = 0;

  constructor(session: Session) {
    this.session = session;
  }

  /** Runs `fn` once per key while it is in flight (and remembers its result for this evaluator). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.inflight.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.inflight.set(key, p);
      p.catch(() => this.inflight.delete(key));
    }
    return p;
  }

  private treeId(tree: Tree): number {
    let id = this.treeIds.get(tree);
    if (id === undefined) this.treeIds.set(tree, (id = this.nextTreeId++));
    return id;
  }

  container(node: ContainerNode): Promise<ImageState> {
    return memo(this.containers, node, () =>
      this.evalContainer(node).then((s) => (s.pristine && !KEEPS_PRISTINE.has(node.op.type) ? { ...s, pristine: undefined } : s)),
    );
  }

  directory(node: DirectoryNode): Promise<Tree> {
    return memo(this.directories, node, () => this.evalDirectory(node));
  }

  file(node: FileNode): Promise<FileValue> {
    return memo(this.files, node, () => this.evalFile(node));
  }

  /** A content key for a mount, so that exec cache keys change when mounted content does. */
  private async mountKey(m: MountSpec): Promise<unknown> {
    switch (m.type) {
      case "cache":
        return { ...m, source: m.source ? await treeKey(await this.directory(m.source)) : undefined };
      case "directory":
        return { ...m, dir: await treeKey(await this.directory(m.dir)) };
      case "file":
        return { ...m, file: (await this.file(m.file)).contentDigest };
      default:
        return m;
    }
  }

  private async evalContainer(node: ContainerNode): Promise<ImageState> {
    const op = node.op;
    if (op.type === "init") {
      const platform = parsePlatformOrThrow(op.platform);
      return {
        key: sha256(canonicalJson({ op: "scratch", platform })),
        platform,
        config: {},
        layers: [],
        history: [],
        annotations: {},
        mounts: [],
        secretEnv: [],
        registryAuth: [],
      };
    }
    if (!node.parent) throw new LadingError("INTERNAL", `op ${op.type} has no parent container`);
    const parentP = this.container(node.parent);
    const description = node.description ?? describe(op);
    switch (op.type) {
      case "from": {
        const parent = await parentP;
        if (op.address === "scratch") return { ...parent, key: sha256(canonicalJson({ op: "scratch", platform: parent.platform })), layers: [], config: {}, author: undefined, history: [] };
        const resolved = await this.once(`from:${op.address}:${parent.key}`, () =>
          runStep(this.session, { id: `from:${op.address}`, name: description, metadataOnly: true, attributes: { "lading.source": op.address, "lading.platform": formatPlatform(parent.platform) } }, () => resolveImage(this.session, op.address, parent.platform, registryCredentials(this.session, parent))),
        );
        return this.stateFromImage(parent, resolved.manifest, resolved.name);
      }
      case "import": {
        const parent = await parentP;
        const f = await this.file(op.file);
        if (!f.content || f.content.kind !== "host") throw new LadingError("UNSUPPORTED", "import() takes a host file (client.host().file(path))");
        const { importArchive } = await import("../oci/image-import.js");
        const md = await importArchive(this.session.store, f.content.path, op.tag, parent.platform);
        return this.stateFromImage(parent, md, f.content.path);
      }
      case "config": {
        const parent = await parentP;
        let edit = op.edit;
        if (edit.field === "workdir" && !edit.path.startsWith("/")) edit = { ...edit, path: posix.join(parent.config.WorkingDir || "/", edit.path) };
        const changed = edit.field === "author" ? { author: edit.author } : { config: applyConfigEdit(parent.config, edit) };
        return { ...parent, key: childKey(parent.key, op), ...changed, history: [...parent.history, emptyHistory(this.session, description)] };
      }
      case "annotation": {
        const parent = await parentP;
        const annotations = { ...parent.annotations };
        if (op.value === undefined) delete annotations[op.name];
        else annotations[op.name] = op.value;
        return { ...parent, key: childKey(parent.key, op), annotations };
      }
      case "mount": {
        const parent = await parentP;
        const key = childKey(parent.key, { ...op, mount: await this.mountKey(op.mount) });
        const target = posix.resolve("/", parent.config.WorkingDir || "/", op.target);
        return { ...parent, key, mounts: [...parent.mounts.filter((m) => m.target !== target), { target, mount: op.mount }] };
      }
      case "unmount": {
        const parent = await parentP;
        const target = posix.resolve("/", parent.config.WorkingDir || "/", op.target);
        return { ...parent, key: childKey(parent.key, op), mounts: parent.mounts.filter((m) => m.target !== target) };
      }
      case "registryAuth": {
        const parent = await parentP;
        const rest = parent.registryAuth.filter((a) => a.registry !== op.registry);
        // Credentials change how content is fetched, never what it is: the key stays.
        return { ...parent, registryAuth: op.secret && op.username !== undefined ? [...rest, { registry: op.registry, username: op.username, secret: op.secret }] : rest };
      }
      case "serviceBinding": {
        const parent = await parentP;
        // Keyed by the service's definition, never its runtime state (as Dagger): a rebuild with the same service hits the cache.
        const key = childKey(parent.key, { type: op.type, alias: op.alias, service: await serviceKey(this, op.service) });
        return { ...parent, key, services: [...(parent.services ?? []).filter((b) => b.alias !== op.alias), { alias: op.alias, service: op.service }] };
      }
      case "secretEnv": {
        const parent = await parentP;
        const rest = parent.secretEnv.filter((s) => s.name !== op.name);
        return { ...parent, key: childKey(parent.key, op), secretEnv: op.secret ? [...rest, { name: op.name, secret: op.secret }] : rest };
      }
      case "newFile": {
        const parent = await parentP;
        const key = childKey(parent.key, op);
        const layer = await this.once(key, async () => (await fileOps()).writeNewFileStep(this.session, parent, op, key, description));
        return this.withLayer(parent, key, layer, description);
      }
      case "execOutput": {
        const parent = await parentP;
        if (!parent.lastExec) throw new LadingError("INTERNAL", "redirect without a command");
        const key = childKey(parent.key, op);
        const newFile = { type: "newFile" as const, path: op.path, contents: parent.lastExec[op.stream], permissions: 0o644 };
        const layer = await this.once(key, async () => (await fileOps()).writeNewFileStep(this.session, parent, newFile, key, description));
        return this.withLayer(parent, key, layer, description);
      }
      case "file": {
        const [parent, file] = await Promise.all([parentP, this.file(op.file)]);
        const key = childKey(parent.key, { ...op, file: [file.contentDigest, file.mode, file.name] });
        const layer = await this.once(key, async () => (await fileOps()).writeFileStep(this.session, parent, op, file, key, description));
        return this.withLayer(parent, key, layer, description);
      }
      case "directory": {
        const [parent, tree] = await Promise.all([parentP, this.directory(op.dir)]);
        const keyOf = (dir: Digest) => childKey(parent.key, { ...op, dir });
        if (isWalked(tree) && !op.exclude.length && !op.include.length && this.session.cacheSources.length === 0 && (await tree.keyCold())) {
          // Nothing knows its files: the step reads them once, to pack them, and keys the tree from that read.
          // (With a registry cache to ask, the key comes first: the cache may hold the step.)
          const id = `pack:${childKey(parent.key, { ...op, dir: this.treeId(tree) })}`;
          const { layer, key } = await this.once(id, async () => (await fileOps()).writeDirectoryStepKeyingTree(this.session, parent, op, tree, keyOf, description, id));
          return this.withLayer(parent, key, layer, description);
        }
        const dirKey = await treeKey(tree);
        const key = keyOf(dirKey);
        const layer = await this.once(key, async () => (await fileOps()).writeDirectoryStep(this.session, parent, op, tree, key, description, dirKey));
        return this.withLayer(parent, key, layer, description);
      }
      case "remove": {
        const parent = await parentP;
        const key = childKey(parent.key, op);
        const layer = await this.once(key, async () => (await fileOps()).writeRemoveStep(this.session, parent, op, key, description));
        return this.withLayer(parent, key, layer, description);
      }
      case "rootfs": {
        const [parent, tree] = await Promise.all([parentP, this.directory(op.dir)]);
        const dirKey = await treeKey(tree);
        const key = childKey(parent.key, { op: "rootfs", dir: dirKey });
        const base = { ...parent, layers: [], history: [] };
        const layer = await this.once(key, async () => (await fileOps()).writeDirectoryStep(this.session, base, { type: "directory", path: "/", dir: op.dir, exclude: [], include: [] }, tree, key, description, dirKey));
        return this.withLayer(base, key, layer, description);
      }
      case "exec": {
        const parent = await parentP;
        const key = childKey(parent.key, op);
        const outcome = await this.once(key, async () => (await import("./steps/exec.js")).execStep(this, parent, op.exec, key, description));
        const layers = outcome.layer ? [...parent.layers, outcome.layer] : parent.layers;
        const history = [...parent.history, { ...historyEntry(this.session, description), ...(outcome.layer ? {} : { empty_layer: true }) }];
        return { ...parent, key, layers, history, lastExec: { exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, metrics: outcome.metrics } };
      }
    }
  }

  private async stateFromImage(parent: ImageState, manifest: Descriptor, name: string): Promise<ImageState> {
    const img = await loadImage(this.session, manifest);
    const platform = { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) };
    // A lone manifest (no index to pick from) must still be for the platform asked for: taking it anyway
    // would build, label and export an image of another platform than --platform said, without a word.
    if (platform.os && platform.architecture && !platformMatches(platform, parent.platform)) {
      throw new LadingError("NOT_FOUND", `${name} is an image for ${formatPlatform(platform)}, not for the platform asked for (${formatPlatform(parent.platform)}); pass --platform ${formatPlatform(platform)} or use an image (or an index) that has ${formatPlatform(parent.platform)}`);
    }
    return {
      key: sha256(canonicalJson({ op: "from", manifest: manifest.digest })),
      platform,
      created: img.config.created,
      ...(img.config.author !== undefined ? { author: img.config.author } : {}),
      config: img.config.config ?? {},
      layers: img.layers,
      history: img.config.history ?? [],
      annotations: {},
      mounts: parent.mounts,
      secretEnv: parent.secretEnv,
      registryAuth: parent.registryAuth,
      ...(parent.services ? { services: parent.services } : {}),
      base: { name, digest: manifest.digest },
      pristine: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform },
    };
  }

  private withLayer(parent: ImageState, key: Digest, layer: LayerRef, description: string): ImageState {
    return { ...parent, key, layers: [...parent.layers, layer], history: [...parent.history, historyEntry(this.session, description)], lastExec: parent.lastExec };
  }

  private async evalDirectory(node: DirectoryNode): Promise<Tree> {
    const op = node.op;
    const parentP = node.parent ? this.directory(node.parent) : Promise.resolve(EMPTY_TREE);
    switch (op.type) {
      case "empty":
        return EMPTY_TREE;
      case "host":
        return this.once(`host:${op.path}:${canonicalJson([op.exclude, op.include])}`, async () => {
          const { hashMemo } = await import("./hash-cache.js");
          const root = resolve(op.path);
          return (await hostSources()).readHostDirectory(root, { exclude: op.exclude, include: op.include, memo: hashMemo(this.session.store, root), ...mtimeCeiling(this.session) });
        });
      case "containerPath": {
        const state = await this.container(op.container);
        return (await rootfsReads()).readContainerPath(this, state, op.path);
      }
      case "archive": {
        const f = await this.file(op.file);
        return (await import("./sources/archive.js")).readArchiveAsTree(this.session, f);
      }
      case "git": {
        const { gitAttributes, readGitTree, resolveGitRef } = await import("./sources/git.js");
        const { commit, ref } = await resolveGitRef(this.session, op);
        const id = `git:${op.url}:${commit}:${op.keepGitDir}`;
        return this.once(id, () =>
          runStep(this.session, { id, name: `git ${op.url}${op.ref.kind === "head" ? "" : "#" + op.ref.name} (${commit.slice(0, 12)})`, metadataOnly: true, attributes: gitAttributes(op, commit) }, () =>
            readGitTree(this.session, { ...op, commit, fetchRef: ref, keepGitDir: op.keepGitDir }),
          ),
        );
      }
      case "sub": {
        const p = cleanRelPath(op.path);
        const tree = await parentP;
        if (isWalked(tree)) {
          // Walked on its own: `COPY src/` of a large context neither lists the context nor reads what lies outside src/.
          if (p === "") return tree;
          if (tree.lookup(p)?.type !== "directory") throw new LadingError("NOT_FOUND", `directory ${op.path} not found`);
          return tree.sub(p);
        }
        const parent = tree.entries;
        if (p !== "" && !parent.some((e) => e.path === p && e.type === "directory")) {
          throw new LadingError("NOT_FOUND", `directory ${op.path} not found`);
        }
        return makeTree(subTree(parent, p));
      }
      case "newFile": {
        const parent = await treeEntries(await parentP);
        const data = Buffer.from(op.contents);
        const e: TreeEntry = { path: "", type: "file", mode: op.permissions, uid: 0, gid: 0, size: data.length, content: { kind: "bytes", data }, contentDigest: sha256(data) };
        return makeTree(overlayTree(parent, [e], op.path));
      }
      case "newDirectory": {
        const parent = await treeEntries(await parentP);
        const e: TreeEntry = { path: "", type: "directory", mode: op.permissions, uid: 0, gid: 0 };
        return makeTree(overlayTree(parent, [e], op.path));
      }
      case "file": {
        const [parent, f] = await Promise.all([parentP.then(treeEntries), this.file(op.file)]);
        const e: TreeEntry = { ...f, path: "", mode: op.permissions ?? f.mode };
        return makeTree(overlayTree(parent, [e], op.path));
      }
      case "directory": {
        const [parent, src] = await Promise.all([parentP.then(treeEntries), this.directory(op.dir).then(treeEntries)]);
        const add = filterTree(src, op.exclude, op.include);
        const root: TreeEntry = { path: "", type: "directory", mode: 0o755, uid: 0, gid: 0 };
        return makeTree(overlayTree(parent, [root, ...add], op.path));
      }
      case "without": {
        const parent = await treeEntries(await parentP);
        return makeTree(withoutPath(parent, op.path));
      }
    }
  }

  private async evalFile(node: FileNode): Promise<FileValue> {
    const s = node.source;
    switch (s.type) {
      case "host":
        return (await import("./sources/host-file.js")).hostFileEntry(s.path, mtimeCeiling(this.session).mtimeCeiling);
      case "newFile": {
        const data = Buffer.from(s.contents);
        return { name: s.name, path: "", type: "file", mode: s.permissions, uid: 0, gid: 0, size: data.length, content: { kind: "bytes", data }, contentDigest: sha256(data) };
      }
      case "dirPath": {
        const tree = await this.directory(s.dir);
        const p = cleanRelPath(s.path);
        // A host directory's file is looked up alone (a COPY of one file must not walk a large context).
        const e = isWalked(tree) ? await tree.find(p) : tree.entries.find((x) => x.path === p);
        if (!e) throw new LadingError("NOT_FOUND", `file ${s.path} not found`);
        if (e.type !== "file") throw new LadingError("INVALID_ARGUMENT", `${s.path} is a ${e.type}, not a file`);
        return { ...e, name: posix.basename(p) };
      }
      case "containerPath": {
        const state = await this.container(s.container);
        return (await rootfsReads()).readContainerFile(this, state, s.path);
      }
      case "tarball": {
        const { exportContainer } = await import("./export.js");
        const dir = await this.session.tempDir("tarball");
        const out = posix.join(dir, "image.tar");
        await exportContainer(this, s.container, out, { mediaTypes: s.mediaTypes, forcedCompression: s.forcedCompression, platformVariants: s.platformVariants });
        return { ...(await (await import("./sources/host-file.js")).hostFileEntry(out)), name: "image.tar" };
      }
    }
  }
}

/** The value evaluated for `node`, computed on first request and shared after. */
function memo<K extends object, V>(map: WeakMap<K, Promise<V>>, node: K, evaluate: () => Promise<V>): Promise<V> {
  let p = map.get(node);
  if (!p) {
    p = evaluate();
    map.set(node, p);
  }
  return p;
}

function parsePlatformOrThrow(p: string) {
  try {
    return parsePlatform(p);
  } catch (err) {
    throw new LadingError("INVALID_ARGUMENT", (err as Error).message, { cause: err });
  }
}

/** When layers clamp mtimes, host files' later mtimes are read as the epoch: they cannot reach a layer, so they must not change a key. */
function mtimeCeiling(session: Session): { mtimeCeiling?: number } {
  const t = layerTimes(session.config);
  return t.clampMtime ? { mtimeCeiling: t.sourceDateEpoch } : {};
}

export function childKey(parent: Digest, op: unknown): Digest {
  return sha256(canonicalJson({ parent, op }));
}

function createdAt(session: Session): string {
  return new Date((session.config.sourceDateEpoch ?? 0) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

function historyEntry(session: Session, createdBy: string) {
  return { created: createdAt(session), created_by: createdBy };
}

function emptyHistory(session: Session, createdBy: string) {
  return { ...historyEntry(session, createdBy), empty_layer: true };
}

/** A default step name when the caller gave none. */
export function describe(op: ContainerOp): string {
  switch (op.type) {
    case "from":
      return `FROM ${op.address}`;
    case "registryAuth":
      return `${op.secret ? "withRegistryAuth" : "withoutRegistryAuth"} ${op.registry}`;
    case "exec":
      return `withExec ${op.exec.args.join(" ")}`;
    case "newFile":
      return `withNewFile ${op.path}`;
    case "file":
      return `withFile ${op.path}`;
    case "directory":
      return `withDirectory ${op.path}`;
    case "remove":
      return `without${op.what === "file" ? "File" : "Directory"} ${op.path}`;
    case "config":
      return `config ${op.edit.field}`;
    default:
      return op.type;
  }
}
