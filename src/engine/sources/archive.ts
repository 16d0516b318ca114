/**
 * A tar archive (plain, gzip, bzip2 or xz) as a directory: ADD's
 * auto-extraction and client.archive(). Unpacked with the safe extractor
 * into session temp space, then read like any directory.
 */
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { LadingError } from "../../errors.js";
import type { Session } from "../session.js";
import type { Tree, TreeEntry } from "../tree.js";
import { openContent } from "../tree.js";
import { readHostDirectory } from "./host.js";

const isRoot = process.getuid?.() === 0;

export async function readArchiveAsTree(session: Session, file: TreeEntry & { name: string }): Promise<Tree> {
  const head = await readHead(file);
  const dir = await session.tempDir("archive");
  const raw = openContent(file.content);
  let input: Readable;
  if (head[0] === 0x1f && head[1] === 0x8b) input = raw.pipe(createGunzip());
  else if (head.subarray(0, 3).toString("latin1") === "BZh") input = through(raw, "bzip2", ["-dc"]);
  else if (head[0] === 0xfd && head.subarray(1, 6).toString("latin1") === "7zXZ\0") input = through(raw, "xz", ["-dc"]);
  else if (head.length >= 262 && head.subarray(257, 262).toString("latin1") === "ustar") input = raw;
  else throw new LadingError("INVALID_ARGUMENT", `${file.name} is not a tar archive (plain, gzip, bzip2 or xz)`);
  const { extractLayer } = await import("../../oci/extract.js");
  await extractLayer(input, dir, { applyWhiteouts: false, chown: isRoot });
  return readHostDirectory(dir, { owners: isRoot ? "keep" : "reset" });
}

/** Whether a file looks like a tar archive ADD would unpack. */
export async function looksLikeArchive(file: TreeEntry): Promise<boolean> {
  const head = await readHead(file);
  return (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString("latin1") === "BZh" || (head[0] === 0xfd && head.subarray(1, 6).toString("latin1") === "7zXZ\0") || (head.length >= 262 && head.subarray(257, 262).toString("latin1") === "ustar");
}

async function readHead(file: TreeEntry): Promise<Buffer> {
  if (file.content?.kind === "bytes") return file.content.data.subarray(0, 512);
  if (file.content?.kind !== "host") return Buffer.alloc(0);
  const fh = await open(file.content.path, "r");
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function through(input: Readable, cmd: string, args: string[]): Readable {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  // Take the output at once: node discards a child's unread stdout when the
  // child exits, so a small archive decompressed before extraction starts
  // reading would come out empty.
  const out = new PassThrough();
  child.stdout.pipe(out);
  input.pipe(child.stdin);
  child.on("error", (err) => out.destroy(new LadingError("UNSUPPORTED", `cannot decompress with ${cmd}: ${err.message} (install the Debian package ${cmd === "xz" ? "xz-utils" : cmd})`)));
  child.on("exit", (code) => {
    if (code) out.destroy(new LadingError("INVALID_ARGUMENT", `${cmd} failed to decompress the archive (exit code ${code})`));
  });
  return out;
}
