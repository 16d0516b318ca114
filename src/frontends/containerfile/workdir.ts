/**
 * WORKDIR creates its directory, as BuildKit does (`mkdir -p`, every
 * directory it creates owned by the current USER), but only where nothing
 * exists yet: an existing directory keeps its mode and owner (`WORKDIR /tmp`
 * must not turn 1777 into 0755), and symlinks on the way are followed.
 *
 * Knowing what exists means looking at the stage's files so far, so this
 * evaluates the steps before the WORKDIR (usually just the base image).
 */
import type { Client } from "../../index.js";
import { pathKind } from "./probe.js";
import type { StageState } from "./state.js";

export async function ensureWorkdir(st: StageState, client: Client, description: string): Promise<StageState> {
  if (st.workdir === "/") return st;
  const parts = st.workdir.slice(1).split("/");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = "/" + parts.slice(0, i).join("/");
    if ((await pathKind(st.c, prefix)) !== "missing") continue;
    // `prefix` is the first missing directory: create it and everything below it, all 0755 and owned by USER.
    const rest = parts.slice(i).join("/");
    const below = rest ? client.directory().withNewDirectory(rest) : client.directory();
    st.c = st.c.withDirectory(prefix, below, { owner: st.user || "0:0", description: `${description} (create)` });
    return st;
  }
  return st;
}
