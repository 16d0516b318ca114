// Packs DIR as a gzip layer at /PREFIX into a fresh store with lading; prints the layer ref as JSON.
// Usage: node bench/pack/lading-pack.mjs DIR STORE [PREFIX] [gzip|zstd]
import { Store } from "../../dist/src/store/store.js";
import { writeLayer } from "../../dist/src/oci/layer-writer.js";
import { walkDir } from "./walk.mjs";

const [dir, storeDir, prefix = "payload", compression = "gzip"] = process.argv.slice(2);
const store = await Store.open(storeDir);
const ref = await writeLayer(store, walkDir(dir, prefix), { compression });
process.stdout.write(JSON.stringify(ref) + "\n");
