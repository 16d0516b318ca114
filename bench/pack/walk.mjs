// A host directory walked into lading LayerEntry values, for the pack
// benchmark only (the product's walker lives in src/engine/). Real modes,
// owners and mtimes; hardlinks detected by inode; file bytes opened lazily.
//
// Entries are kept lean: all 20,000 are held until the tar writer has
// sorted them, and what survives young-generation collections while they
// are made decides how far V8 grows the young generation (16 → 32 MB here):
// one shared open() per entry instead of a closure, one object literal per
// entry instead of spreads, no Stats kept. ~320 bytes an entry instead of ~700.
import { createReadStream, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { Readable } from "node:stream";

// Reads bounded by the file size: an unbounded ReadStream allocates a full
// highWaterMark buffer per read even for a 1 KiB file, which for 20,000
// small files is gigabytes of garbage.
function openFile(path, size) {
  return size === 0 ? Readable.from([]) : createReadStream(path, { start: 0, end: size - 1, highWaterMark: 128 * 1024 });
}

// A plain generator: writeLayer takes any iterable, and reads a sync one without an await per entry.
export function* walkDir(dir, prefix) {
  const root = dir.replace(/\/+$/, "");
  // One open() for every file entry, called as entry.open(): the host path
  // is the entry's own layer path moved from PREFIX to DIR. (Copies made
  // with spread, as the tar writer makes for hardlinks, keep working: any
  // name of the inode will do.) hostPath lets the tar writer read the file
  // itself, as the product's walker does.
  function openHostFile() {
    return openFile(root + this.path.slice(prefix.length), this.size);
  }
  const seen = new Map(); // "dev:ino" -> layer path of the first name
  function* visit(abs, rel) {
    // Blocking calls, as the product's walker: an async lstat costs a thread-pool round trip each.
    const names = readdirSync(abs).sort();
    for (const name of names) {
      const a = `${abs}/${name}`;
      const r = `${rel}/${name}`;
      const st = lstatSync(a);
      const mode = st.mode & 0o7777;
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isDirectory()) {
        yield { path: r, type: "directory", mode, uid: st.uid, gid: st.gid, mtime };
        yield* visit(a, r);
      } else if (st.isSymbolicLink()) {
        yield { path: r, type: "symlink", mode, uid: st.uid, gid: st.gid, mtime, linkname: readlinkSync(a) };
      } else if (st.isFile()) {
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = seen.get(key);
          if (first !== undefined) {
            yield { path: r, type: "hardlink", mode, uid: st.uid, gid: st.gid, mtime, linkname: first };
            continue;
          }
          seen.set(key, r);
        }
        yield { path: r, type: "file", mode, uid: st.uid, gid: st.gid, mtime, size: st.size, open: openHostFile, hostPath: a };
      }
    }
  }
  yield { path: prefix, type: "directory", mode: 0o755, uid: 0, gid: 0 };
  yield* visit(root || "/", prefix);
}
