// What a user with a large repository runs: connect() → withDirectory("/p",
// host dir) → digest(), into STORE (fresh: every file is read once, packed and
// hashed by the same pass, which keys the step).
// Prints the image digest.
// Usage: node bench/bigctx/lading-copy.mjs DIR STORE
import { connect } from "lading"; // as a user imports it: the package's "exports" (the bundle, dist/lib)

const [dir, store] = process.argv.slice(2);
const digest = await connect((client) => client.container().withDirectory("/p", client.host().directory(dir)).digest(), { store });
process.stdout.write(digest + "\n");
