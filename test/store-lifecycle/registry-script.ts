/**
 * A push or a pull through the public API, as its own process (so the
 * crash test can SIGKILL it mid-transfer):
 *   node registry-script.js push STORE NAME DESTINATION   → prints DESTINATION@sha256:…
 *   node registry-script.js pull STORE REFERENCE          → prints the image's digest
 */
// The API entry itself (src/index.ts re-exports it) so this script does not depend on unrelated parts loading.
import { connect } from "../../src/api/client.js";

const [mode, store, source, dest] = process.argv.slice(2) as ["push" | "pull", string, string, string | undefined];
// Phase lines ("lading-phase …") tell the harness where a kill landed.
const phase = (what: string) => process.stderr.write(`lading-phase ${what}\n`);
const client = await connect({ store, gc: false, log: (e) => e.type === "step" && phase(`${e.status} ${e.name}`) });
// Tells the harness the modules are loaded and the store is open: kill offsets count from here.
process.stderr.write("lading-ready\n");
try {
  const image = client.container().from(source);
  phase(mode);
  const result = mode === "push" ? await image.publish(dest!) : await image.digest();
  phase(`${mode}ed`);
  process.stdout.write(result + "\n");
} finally {
  await client.close();
}
