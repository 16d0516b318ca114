/**
 * Whether a file is a tar archive, compressed or not: what ADD needs to
 * decide between unpacking a source and copying it as is. Docker decides
 * by content: a gzip, bzip2 or xz stream whose decompressed start is a tar
 * header, or a plain tar header. A compressed file that is not a tar
 * (`notes.txt.gz`) is copied as is, so the decompressed header is checked.
 */
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { constants, gunzipSync } from "node:zlib";
import { LadingError } from "../errors.js";

export const TAR_BLOCK = 512;
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** Enough compressed input to hold the first tar block in any sane stream. */
const HEAD_BYTES = 64 * 1024;

export type StreamCompression = "gzip" | "bzip2" | "xz" | "zstd" | "none";

/** What a stream's first bytes say it is compressed with (by magic number), else "none". */
export function sniffStreamCompression(head: Buffer): StreamCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 3 && head.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
  if (head.length >= 6 && head.subarray(0, 6).equals(XZ_MAGIC)) return "xz";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

export async function isTarArchive(path: string): Promise<boolean> {
  const head = await readFileHead(path, HEAD_BYTES);
  const kind = sniffStreamCompression(head);
  if (kind === "gzip") {
    let out: Buffer;
    try {
      // Z_SYNC_FLUSH: the input is cut short on purpose; take what it decompresses to.
      out = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return false;
    }
    return isTarHeader(out);
  }
  if (kind === "bzip2" || kind === "xz") return isTarHeader(await decompressHead(kind, path));
  return kind === "none" && isTarHeader(head);
}

/**
 * A tar header block: its checksum field matches the sum of its bytes
 * (with the field itself counted as spaces). Holds for v7, ustar, GNU and
 * PAX headers alike, as Go's tar reader accepts.
 */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < TAR_BLOCK) return false;
  const field = block.subarray(148, 156).toString("latin1").replace(/[\0 ]+$/g, "").trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === parseInt(field, 8);
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readFileHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The first tar block of `path` decompressed by `cmd -dc`; the child is stopped as soon as it has been read. */
function decompressHead(cmd: "bzip2" | "xz", path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, ["-dc", path], { stdio: ["ignore", "pipe", "ignore"] });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks).subarray(0, TAR_BLOCK));
    };
    child.stdout.on("data", (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= TAR_BLOCK) {
        finish();
        child.kill();
      }
    });
    child.stdout.on("end", finish);
    child.on("error", (err) => {
      if (settled) return;
      settled = true;
      reject(new LadingError("UNSUPPORTED", `cannot look inside ${path} with ${cmd}: ${err.message} (install the Debian package ${cmd === "xz" ? "xz-utils" : cmd})`));
    });
  });
}
