/**
 * A small build through the public API, run as its own process by the
 * crash and concurrency tests (so it can be SIGKILLed):
 *   node build-script.js STORE BASE_LAYOUT CONTEXT_DIR OUT_TAR VARIANT [TAG]
 * Steps: FROM an OCI layout, ENV, file steps (new file, a host directory,
 * a host file), a VARIANT-specific file step, an export to OUT_TAR; with
 * TAG, the result is also named in the store. Prints the digest; on
 * stderr, a `lading-phase` line as each step starts and ends and around
 * the export.
 * LADING_SCRIPT_EXEC=1 adds an exec step (when exec/ works).
 */
// The API entry itself (src/index.ts re-exports it) so this script does not depend on unrelated parts loading.
import { connect } from "../../src/api/client.js";

const [store, base, context, out, variant, tag] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
// Phase lines ("lading-phase …") tell the harness where a kill landed: each step as it starts and ends, then the export.
const phase = (what: string) => process.stderr.write(`lading-phase ${what}\n`);
const client = await connect({ store, gc: false, sourceDateEpoch: 0, log: (e) => e.type === "step" && phase(`${e.status} ${e.name}`) });
// Tells the harness the modules are loaded and the store is open: kill offsets count from here.
process.stderr.write("lading-ready\n");
try {
  let c = client
    .container()
    .from(`oci:${base}:latest`)
    .withEnvVariable("APP_HOME", "/app")
    .withNewFile("/app/config.txt", "shared config\n")
    .withDirectory("/app/src", client.host().directory(context))
    .withFile("/app/readme", client.host().file(`${context}/a.txt`))
    .withWorkdir("/app");
  if (process.env.LADING_SCRIPT_EXEC === "1") c = c.withExec(["sh", "-c", "echo built > /app/built.txt"]);
  c = c.withNewFile(`/app/variant-${variant}.txt`, `variant ${variant}\n`).withLabel("variant", variant);
  const digest = await c.digest();
  phase("export");
  await c.export(out);
  phase("exported");
  if (tag) await c.tag(tag);
  process.stdout.write(digest + "\n");
} finally {
  await client.close();
}
