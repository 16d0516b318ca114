import { copyFile, readFile, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import type { FileNode } from "../engine/ops.js";
import { openContent } from "../engine/tree.js";
import { tempNameFor } from "../fsutil/atomic.js";
import type { ApiContext } from "./context.js";
import { LadingError } from "../errors.js";

/**
 * A file: lazy and immutable. Nothing is read until an awaited method asks.
 *
 * @example
 * const text = await client.host().file("./package.json").contents();
 */
export class File {
  /** @internal The session and evaluator this value belongs to. */
  readonly ctx: ApiContext;
  /** @internal The op graph node this value stands for. */
  readonly node: FileNode;
  /** Not for direct use: made by `Host.file()`, `Container.file()`, `Directory.file()` and `Container.asTarball()`. */
  constructor(ctx: ApiContext, node: FileNode) {
    this.ctx = ctx;
    this.node = node;
  }

  private value() {
    return this.ctx.evaluator.file(this.node);
  }

  /**
   * The file's contents as UTF-8 text (read whole into memory: for large files, use `export`).
   * @throws LadingError `NOT_FOUND` when the file does not exist where it was taken from.
   * @example const os = await client.container().from("oci:./busybox").file("/etc/os-release").contents();
   */
  async contents(): Promise<string> {
    const v = await this.value();
    if (v.content?.kind === "bytes") return v.content.data.toString("utf8");
    if (v.content?.kind === "host") return readFile(v.content.path, "utf8");
    return "";
  }

  /**
   * The file's size in bytes.
   * @example const bytes = await c.asTarball().size();
   */
  async size(): Promise<number> {
    return (await this.value()).size ?? 0;
  }

  /**
   * The file's base name.
   * @example await client.host().file("./src/main.ts").name(); // "main.ts"
   */
  async name(): Promise<string> {
    return (await this.value()).name;
  }

  /**
   * The sha256 digest of the contents (`sha256:…`).
   * @example const d = await client.host().file("./app.tar").digest();
   */
  async digest(): Promise<string> {
    const v = await this.value();
    if (!v.contentDigest) throw new LadingError("INTERNAL", "file has no content digest");
    return v.contentDigest;
  }

  /**
   * Writes the file to `path` on the host, all at once (a rename of a
   * finished temp file; an existing file there is replaced). Parent directories are made.
   * @param path Where on the host.
   * @returns The absolute path written.
   * @example await client.container().from("alpine").asTarball().export("./img.tar");
   */
  async export(path: string): Promise<string> {
    const v = await this.value();
    const target = resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = tempNameFor(target);
    try {
      if (v.content?.kind === "host") await copyFile(v.content.path, tmp);
      else {
        const { pipeline } = await import("node:stream/promises");
        const { createWriteStream } = await import("node:fs");
        await pipeline(openContent(v.content), createWriteStream(tmp, { mode: v.mode }));
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return target;
  }
}
