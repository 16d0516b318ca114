/** Where the runtime's state and lading's notes about running containers live in a store. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "../store/store.js";

/** `<store>/lading/runc/<mapping>`: runc/crun `--root`, one per id mapping. */
export async function runtimeStateRoot(store: Store, tag: string): Promise<string> {
  const d = join(await store.stateDir("runc"), tag);
  await mkdir(d, { recursive: true, mode: 0o700 });
  return d;
}

/** Beside the runtime's own state: which lading process owns a container (`<id>.owner.json`). */
export function ownerFile(stateRoot: string, id: string): string {
  return join(stateRoot, `${id}.owner.json`);
}
