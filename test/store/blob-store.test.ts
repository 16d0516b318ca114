import { after } from "node:test";
import { chmod, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { tempDir } from "../helpers/tmp.js";
import { blobStoreConformance } from "./blob-store-conformance.js";

const t = tempDir("lading-blobstore-");
after(t.cleanup);
let n = 0;

blobStoreConformance("the store", async () => {
  const store = await Store.open(join(t.path, `s${n++}`));
  return {
    blobs: store,
    leftovers: () => readdir(join(store.root, "lading", "tmp")),
    corrupt: async (digest, bytes) => {
      await chmod(store.blobPath(digest), 0o644);
      await writeFile(store.blobPath(digest), bytes);
    },
  };
});
