/**
 * WORKDIR creates its directory, as BuildKit does (`mkdir -p`, every
 * directory it creates owned by the current USER), and VOLUME creates its
 * path, as docker's classic builder and buildah do (owned by root), so that
 * a later `RUN chmod 0711 /vol` finds it. Only what is missing is created:
 * an existing directory keeps its mode and owner (`WORKDIR /tmp` must not
 * turn 1777 into 0755), and symlinks on the way are followed inside the
 * image (the engine's file steps resolve them).
 *
 * Knowing what exists means looking at the stage's files so far, so this
 * evaluates the steps before it (usually just the base image).
 */
import type { Client, Container } from "../../index.js";
import { pathKind } from "./probe.js";
import type { StageState } from "./state.js";

export function ensureWorkdir(st: StageState, client: Client, description: string): Promise<StageState> {
  return ensureDirectory(st, client, st.workdir, st.user || "0:0", description);
}

/**
 * Creates the absolute `path` and its missing parents, 0755, owned by
 * `owner`, where nothing is there yet in `probe` (default: the stage so far;
 * VOLUME looks at the stage before its first path, so several paths cost
 * one look at the files, not one per path).
 */
export async function ensureDirectory(st: StageState, client: Client, path: string, owner: string, description: string, probe: Container = st.c): Promise<StageState> {
  if (path === "/") return st;
  const parts = path.slice(1).split("/");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = "/" + parts.slice(0, i).join("/");
    if ((await pathKind(probe, prefix)) !== "missing") continue;
    // `prefix` is the first missing directory: create it and everything below it.
    const rest = parts.slice(i).join("/");
    const below = rest ? client.directory().withNewDirectory(rest) : client.directory();
    st.c = st.c.withDirectory(prefix, below, { owner, description: `${description} (create)` });
    return st;
  }
  return st;
}
