import { rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { LadingError } from "../errors.js";
import { directoryNode, fileNode, type DirectoryNode, type DirectoryOp } from "../engine/ops.js";
import { cleanRelPath, treeKey, treeLookup, treeWalk } from "../engine/tree.js";
import { materializeTree } from "../engine/materialize.js";
import { tempNameFor } from "../fsutil/atomic.js";
import { compilePattern } from "../fsutil/pattern-compile.js";
import type { ApiContext } from "./context.js";
import { File } from "./file.js";
import { existsKind, type ExistsType } from "./enums.js";
import type {
  DirectoryEntriesOpts,
  DirectoryExistsOpts,
  DirectoryWithDirectoryOpts,
  DirectoryWithFileOpts,
  DirectoryWithNewDirectoryOpts,
  DirectoryWithNewFileOpts,
} from "./options.js";

/**
 * A directory tree: lazy and immutable. Every `with…`/`without…` returns a
 * new Directory; nothing is read or written until an awaited method asks.
 * Paths are relative to the directory's top.
 *
 * @example
 * const dir = client.directory().withNewFile("a.txt", "a").withNewDirectory("sub");
 * console.log(await dir.entries()); // ["a.txt", "sub"]
 */
export class Directory {
  /** @internal The session and evaluator this value belongs to. */
  readonly ctx: ApiContext;
  /** @internal The op graph node this value stands for. */
  readonly node: DirectoryNode;
  /** Not for direct use: made by `Client.directory()`, `Host.directory()`, `Container.directory()` and every step method. */
  constructor(ctx: ApiContext, node: DirectoryNode) {
    this.ctx = ctx;
    this.node = node;
  }

  private with(op: DirectoryOp): Directory {
    return new Directory(this.ctx, directoryNode(this.node, op));
  }

  /**
   * This directory with a new file (its parents made as needed).
   * @param path Where, relative to the top.
   * @param contents The file's text (UTF-8).
   * @param opts See {@link DirectoryWithNewFileOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty path.
   * @example client.directory().withNewFile("hello.txt", "hi\n")
   */
  withNewFile(path: string, contents: string, opts: DirectoryWithNewFileOpts = {}): Directory {
    return this.with({ type: "newFile", path: checkPath(path), contents, permissions: opts.permissions ?? 0o644 });
  }

  /**
   * This directory with a new empty directory (and its parents).
   * @param path Where, relative to the top.
   * @param opts See {@link DirectoryWithNewDirectoryOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty path.
   * @example client.directory().withNewDirectory("logs", { permissions: 0o700 })
   */
  withNewDirectory(path: string, opts: DirectoryWithNewDirectoryOpts = {}): Directory {
    return this.with({ type: "newDirectory", path: checkPath(path), permissions: opts.permissions ?? 0o755 });
  }

  /**
   * This directory with `file` placed at `path`.
   * @param path Where, relative to the top (the file's new name included).
   * @param file The file, from the host, a container or another directory.
   * @param opts See {@link DirectoryWithFileOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty path.
   * @example client.directory().withFile("etc/app.json", client.host().file("./app.json"))
   */
  withFile(path: string, file: File, opts: DirectoryWithFileOpts = {}): Directory {
    return this.with({ type: "file", path: checkPath(path), file: file.node, permissions: opts.permissions });
  }

  /**
   * This directory with the contents of `dir` placed at `path` (merged over what is there).
   * @param path Where, relative to the top.
   * @param dir The directory whose contents are copied.
   * @param opts See {@link DirectoryWithDirectoryOpts}.
   * @example client.directory().withDirectory("src", client.host().directory("./src", { exclude: ["*.log"] }))
   */
  withDirectory(path: string, dir: Directory, opts: DirectoryWithDirectoryOpts = {}): Directory {
    return this.with({ type: "directory", path, dir: dir.node, exclude: opts.exclude ?? [], include: opts.include ?? [] });
  }

  /**
   * This directory without `path` (a file or a directory; nothing happens when it is absent).
   * @param path Relative to the top.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty path.
   * @example dir.withoutFile("secrets.env")
   */
  withoutFile(path: string): Directory {
    return this.with({ type: "without", path: checkPath(path) });
  }

  /**
   * This directory without the directory at `path` and everything below it (the same as `withoutFile`).
   * @param path Relative to the top.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty path.
   * @example dir.withoutDirectory("node_modules")
   */
  withoutDirectory(path: string): Directory {
    return this.with({ type: "without", path: checkPath(path) });
  }

  /**
   * The sub-directory at `path` (lazy).
   * @param path Relative to the top.
   * @returns A Directory; awaiting one of its results fails with `NOT_FOUND` when there is no such directory.
   * @example const src = client.host().directory(".").directory("src");
   */
  directory(path: string): Directory {
    return this.with({ type: "sub", path });
  }

  /**
   * The file at `path` (lazy).
   * @param path Relative to the top.
   * @returns A File; awaiting one of its results fails with `NOT_FOUND` when there is no such file,
   *   `INVALID_ARGUMENT` when `path` is not a regular file.
   * @example const pkg = JSON.parse(await dir.file("package.json").contents());
   */
  file(path: string): File {
    return new File(this.ctx, fileNode({ type: "dirPath", dir: this.node, path }));
  }

  private tree() {
    return this.ctx.evaluator.directory(this.node);
  }

  /** Names and types only: a host directory is walked, not hashed. */
  private async listing() {
    return [...treeWalk(await this.tree())];
  }

  /**
   * Names of the entries directly inside a directory (default: the top), sorted.
   * @param opts See {@link DirectoryEntriesOpts}; a plain string is taken as `path` too.
   * @throws LadingError `NOT_FOUND` when `path` is no directory.
   * @example const names = await client.host().directory(".").entries({ path: "src" });
   */
  async entries(opts: DirectoryEntriesOpts | string = {}): Promise<string[]> {
    const path = typeof opts === "string" ? opts : (opts.path ?? "");
    const entries = await this.listing();
    const p = cleanRelPath(path);
    if (p && !entries.some((e) => e.path === p && e.type === "directory")) throw new LadingError("NOT_FOUND", `directory ${path} not found`);
    const prefix = p ? p + "/" : "";
    return entries.filter((e) => e.path.startsWith(prefix) && e.path.length > prefix.length && !e.path.slice(prefix.length).includes("/")).map((e) => e.path.slice(prefix.length));
  }

  /**
   * Paths matching a glob (`*`, `?`, `[…]`, `**`), sorted; directories end with "/" as in Dagger.
   * The pattern rules are .dockerignore's (one compiler for both); a malformed pattern is an INVALID_ARGUMENT error.
   * @param pattern Relative to the top.
   * @example await dir.glob("src/**\/*.ts")
   */
  async glob(pattern: string): Promise<string[]> {
    const matches = compilePattern(cleanRelPath(pattern));
    return (await this.listing()).filter((e) => matches(e.path)).map((e) => (e.type === "directory" ? e.path + "/" : e.path));
  }

  /**
   * Whether `path` exists (and, if asked, is of `expectedType`). Symlinks are not followed.
   * @param path Relative to the top ("" is the top itself, a directory).
   * @param opts See {@link DirectoryExistsOpts}.
   * @throws LadingError `INVALID_ARGUMENT` for an `expectedType` outside {@link ExistsType}.
   * @example if (await dir.exists("package.json", { expectedType: ExistsType.RegularType })) { … }
   */
  async exists(path: string, opts: DirectoryExistsOpts = {}): Promise<boolean> {
    const want = opts.expectedType === undefined ? undefined : existsKind(opts.expectedType);
    const p = cleanRelPath(path);
    if (p === "") return !want || want === "DIRECTORY";
    const e = treeLookup(await this.tree(), p);
    if (!e) return false;
    const t = { directory: "DIRECTORY", file: "REGULAR", symlink: "SYMLINK" }[e.type as string];
    return !want || want === t;
  }

  /**
   * The content key of this directory: a digest over its names, metadata and
   * contents (the same tree gives the same key, wherever it came from). Not an OCI digest.
   * @example const same = (await a.digest()) === (await b.digest());
   */
  async digest(): Promise<string> {
    return treeKey(await this.tree());
  }

  /**
   * Writes the directory to `path` on the host, all at once (a rename of a
   * finished temp copy). `path` must not exist, or be an empty directory.
   * @param path Where on the host.
   * @returns The absolute path written.
   * @throws LadingError `INVALID_ARGUMENT` when `path` exists and is not empty.
   * @example await container.directory("/app/dist").export("./dist");
   */
  async export(path: string): Promise<string> {
    const target = resolve(path);
    const tree = await this.tree();
    const tmp = tempNameFor(target);
    try {
      await materializeTree(tree, tmp, {});
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === "ENOTEMPTY" || (err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new LadingError("INVALID_ARGUMENT", `cannot export to ${target}: it already exists and is not empty`);
      }
      throw err;
    }
    return target;
  }
}

function checkPath(path: string): string {
  if (typeof path !== "string" || path === "") throw new LadingError("INVALID_ARGUMENT", "a path is required");
  return path;
}
