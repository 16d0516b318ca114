/**
 * Pushes an image named in the store, through the public API, as its own
 * process (so the crash test can SIGKILL it mid-push):
 *   node push-script.js STORE NAME DESTINATION
 * Prints `DESTINATION@sha256:…`.
 */
// The API entry itself (src/index.ts re-exports it) so this script does not depend on unrelated parts loading.
import { connect } from "../../src/api/client.js";

const [store, name, dest] = process.argv.slice(2) as [string, string, string];
const client = await connect({ store, gc: false });
// Tells the harness the modules are loaded and the store is open: kill offsets count from here.
process.stderr.write("lading-ready\n");
try {
  process.stdout.write((await client.container().from(name).publish(dest)) + "\n");
} finally {
  await client.close();
}
