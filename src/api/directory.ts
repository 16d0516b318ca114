import { rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { LadingError } from "../errors.js";
import { directoryNode, fileNode, type DirectoryNode, type DirectoryOp } from "../engine/ops.js";
import { cleanRelPath } from "../engine/tree.js";
import { materializeTree } from "../engine/materialize.js";
import { tempNameFor } from "../fsutil/atomic.js";
import type { ApiContext } from "./context.js";
import { File } from "./file.js";

export interface DirectoryWithDirectoryOpts {
  /** Patterns (docker .dockerignore syntax) of paths to leave out. */
  exclude?: string[];
  /** Patterns of the only paths to take. */
  include?: string[];
}

export interface DirectoryWithNewFileOpts {
  /** Mode bits; default 0o644. */
  permissions?: number;
}

/** A directory tree: lazy, immutable. Every `with…` returns a new Directory. */
export class Directory {
  /** @internal */
  readonly ctx: ApiContext;
  /** @internal */
  readonly node: DirectoryNode;
  /** @internal */
  constructor(ctx: ApiContext, node: DirectoryNode) {
    this.ctx = ctx;
    this.node = node;
  }

  private with(op: DirectoryOp): Directory {
    return new Directory(this.ctx, directoryNode(this.node, op));
  }

  /**
   * A new file with the given contents.
   * @example client.directory().withNewFile("hello.txt", "hi\n")
   */
  withNewFile(path: string, contents: string, opts: DirectoryWithNewFileOpts = {}): Directory {
    return this.with({ type: "newFile", path: checkPath(path), contents, permissions: opts.permissions ?? 0o644 });
  }

  /** A new empty directory (and its parents). */
  withNewDirectory(path: string, opts: { permissions?: number } = {}): Directory {
    return this.with({ type: "newDirectory", path: checkPath(path), permissions: opts.permissions ?? 0o755 });
  }

  /** `file` placed at `path`. */
  withFile(path: string, file: File, opts: { permissions?: number } = {}): Directory {
    return this.with({ type: "file", path: checkPath(path), file: file.node, permissions: opts.permissions });
  }

  /**
   * The contents of `dir` placed at `path`.
   * @example client.directory().withDirectory("src", client.host().directory("./src", { exclude: ["*.log"] }))
   */
  withDirectory(path: string, dir: Directory, opts: DirectoryWithDirectoryOpts = {}): Directory {
    return this.with({ type: "directory", path, dir: dir.node, exclude: opts.exclude ?? [], include: opts.include ?? [] });
  }

  /** This directory without `path` (a file or a directory). */
  withoutFile(path: string): Directory {
    return this.with({ type: "without", path: checkPath(path) });
  }

  /** This directory without the directory at `path`. */
  withoutDirectory(path: string): Directory {
    return this.with({ type: "without", path: checkPath(path) });
  }

  /** The sub-directory at `path`. */
  directory(path: string): Directory {
    return this.with({ type: "sub", path });
  }

  /** The file at `path`. */
  file(path: string): File {
    return new File(this.ctx, fileNode({ type: "dirPath", dir: this.node, path }));
  }

  private tree() {
    return this.ctx.evaluator.directory(this.node);
  }

  /**
   * Names of the entries directly inside `path` (default: the top), sorted.
   * @example const names = await client.host().directory(".").entries();
   */
  async entries(path = ""): Promise<string[]> {
    const tree = await this.tree();
    const p = cleanRelPath(path);
    if (p && !tree.entries.some((e) => e.path === p && e.type === "directory")) throw new LadingError("NOT_FOUND", `directory ${path} not found`);
    const prefix = p ? p + "/" : "";
    return tree.entries.filter((e) => e.path.startsWith(prefix) && e.path.length > prefix.length && !e.path.slice(prefix.length).includes("/")).map((e) => e.path.slice(prefix.length));
  }

  /**
   * Paths matching a glob (`*`, `?`, `[…]`, `**`), sorted; directories end with "/" like Dagger's.
   * @example await dir.glob("src/**\/*.ts")
   */
  async glob(pattern: string): Promise<string[]> {
    const { globToRegExp } = await import("../engine/glob.js");
    const re = globToRegExp(cleanRelPath(pattern));
    const tree = await this.tree();
    return tree.entries.filter((e) => re.test(e.path)).map((e) => (e.type === "directory" ? e.path + "/" : e.path));
  }

  /** Whether `path` exists (and, if given, is of `expectedType`). Symlinks are not followed. */
  async exists(path: string, opts: { expectedType?: "DIRECTORY" | "REGULAR" | "SYMLINK" } = {}): Promise<boolean> {
    const p = cleanRelPath(path);
    if (p === "") return !opts.expectedType || opts.expectedType === "DIRECTORY";
    const e = (await this.tree()).entries.find((x) => x.path === p);
    if (!e) return false;
    const t = { directory: "DIRECTORY", file: "REGULAR", symlink: "SYMLINK" }[e.type as string];
    return !opts.expectedType || opts.expectedType === t;
  }

  /** The content key of this directory (a digest over names, metadata and contents). */
  async digest(): Promise<string> {
    return (await this.tree()).key;
  }

  /**
   * Writes the directory to `path` on the host (replacing nothing: `path` must not exist); returns the absolute path.
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
