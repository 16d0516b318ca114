/**
 * WORKDIR creates its directory, as BuildKit does (`mkdir -p`, every
 * directory it creates owned by the current USER), but only where nothing exists yet: an existing directory
 * keeps its mode and owner (`WORKDIR /tmp` must not turn 1777 into 0755),
 * and a path through a symlink is left to the runtime, which resolves it.
 *
 * Knowing what exists means reading the stage's file tree so far, so this
 * evaluates the steps before the WORKDIR (usually just the base image).
 */
import type { Client } from "../../index.js";
import type { StageState } from "./state.js";

export async function ensureWorkdir(st: StageState, client: Client, description: string): Promise<StageState> {
  if (st.workdir === "/") return st;
  const parts = st.workdir.slice(1).split("/");
  const root = st.c.rootfs();
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    if (await root.exists(prefix, { expectedType: "DIRECTORY" })) continue;
    if (await root.exists(prefix)) return st; // a file or a symlink: not ours to replace
    // `prefix` is the first missing directory: create it and everything below it, all 0755 and owned by USER (mkdir -p as that user).
    const rest = parts.slice(i).join("/");
    const below = rest ? client.directory().withNewDirectory(rest) : client.directory();
    st.c = st.c.withDirectory(`/${prefix}`, below, { owner: st.user || "0:0", description: `${description} (create)` });
    return st;
  }
  return st;
}
