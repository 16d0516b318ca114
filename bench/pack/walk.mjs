// A host directory walked into lading LayerEntry values, for the pack
// benchmark only (the product's walker lives in src/engine/). Real modes,
// owners and mtimes; hardlinks detected by inode; file bytes opened lazily.
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";

// Reads bounded by the file size: an unbounded ReadStream allocates a full
// highWaterMark buffer per read even for a 1 KiB file, which for 20,000
// small files is gigabytes of garbage.
function openFile(path, size) {
  return size === 0 ? Readable.from([]) : createReadStream(path, { start: 0, end: size - 1, highWaterMark: 128 * 1024 });
}

// A closure over just the path and size (not the whole loop scope with its Stats).
function opener(path, size) {
  return () => openFile(path, size);
}

export async function* walkDir(dir, prefix) {
  const seen = new Map(); // "dev:ino" -> layer path of the first name
  async function* visit(abs, rel) {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(a);
      const base = { path: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        yield { ...base, type: "directory" };
        yield* visit(a, r);
      } else if (st.isSymbolicLink()) {
        yield { ...base, type: "symlink", linkname: await readlink(a) };
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1 && seen.has(key)) {
          yield { ...base, type: "hardlink", linkname: seen.get(key) };
          continue;
        }
        if (st.nlink > 1) seen.set(key, r);
        yield { ...base, type: "file", size: st.size, open: opener(a, st.size) };
      }
    }
  }
  yield { path: prefix, type: "directory", mode: 0o755, uid: 0, gid: 0 };
  yield* visit(dir, prefix);
}
