/** Where the runtime's state and lading's notes about running containers live in a store. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ExecStore } from "./exec-store.js";

/**
 * `<store>/lading/runc/<mapping>` (runc) or `<mapping>-crun`: the runtime's
 * `--root`, one per id mapping and runtime (their state formats differ, and
 * one's listing must not trip over the other's containers).
 */
export async function runtimeStateRoot(store: ExecStore, tag: string, runtime: "runc" | "crun" = "runc"): Promise<string> {
  const d = join(await store.stateDir("runc"), runtime === "crun" ? `${tag}-crun` : tag);
  await mkdir(d, { recursive: true, mode: 0o700 });
  return d;
}

/** Beside the runtime's own state: which lading process owns a container (`<id>.owner.json`). */
export function ownerFile(stateRoot: string, id: string): string {
  return join(stateRoot, `${id}.owner.json`);
}
