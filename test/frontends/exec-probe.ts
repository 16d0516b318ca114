/** Whether RUN steps can run on this machine, for tests that need them. */
import { join } from "node:path";
import { tempDir } from "../helpers/tmp.js";
import { has } from "../helpers/tools.js";
import { makeBusyboxLayout } from "../helpers/images.js";

/**
 * Why RUN steps cannot run here, or undefined when they can: runc must be
 * installed and a trivial command must run in the busybox test image.
 */
export async function execUnavailable(): Promise<string | undefined> {
  if (!has("runc")) return "runc is not installed";
  const { connect } = await import("../../src/api/client.js");
  const tmp = tempDir();
  const client = await connect({ store: join(tmp.path, "store") });
  try {
    const base = await makeBusyboxLayout(join(tmp.path, "base"));
    await client.container().from(base.ref).withExec(["true"]).sync();
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "RUNTIME_UNAVAILABLE" || e.code === "ERR_MODULE_NOT_FOUND") return `the exec runtime is not available: ${e.message}`;
    throw err;
  } finally {
    await client.close();
    tmp.cleanup();
  }
}
