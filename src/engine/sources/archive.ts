/**
 * A tar archive (plain, gzip, bzip2 or xz) as a directory: ADD's
 * auto-extraction and client.archive(). Unpacked with the safe extractor
 * into session temp space, then read like any directory.
 */
import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { LadingError } from "../../errors.js";
import { isTarHeader, readFileHead, sniffStreamCompression, TAR_BLOCK } from "../../fsutil/archive-sniff.js";
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
  const kind = sniffStreamCompression(head);
  if (kind === "gzip") input = raw.pipe(createGunzip());
  else if (kind === "bzip2" || kind === "xz") input = through(raw, kind, ["-dc"]);
  else if (kind === "none" && isTarHeader(head)) input = raw;
  else throw new LadingError("INVALID_ARGUMENT", `${file.name} is not a tar archive (plain, gzip, bzip2 or xz)`);
  const { extractLayer } = await import("../../oci/extract.js");
  await extractLayer(input, dir, { applyWhiteouts: false, chown: isRoot });
  return readHostDirectory(dir, { owners: isRoot ? "keep" : "reset" });
}

async function readHead(file: TreeEntry): Promise<Buffer> {
  if (file.content?.kind === "bytes") return file.content.data.subarray(0, TAR_BLOCK);
  if (file.content?.kind !== "host") return Buffer.alloc(0);
  return readFileHead(file.content.path, TAR_BLOCK);
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
