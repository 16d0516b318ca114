import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { EnvConfig } from "../env-config.js";

/** The store's default place: $LADING_HOME, else $XDG_DATA_HOME/lading, else ~/.local/share/lading. */
export function defaultStoreDir(env: Pick<EnvConfig, "home" | "xdgDataHome">): string {
  if (env.home) return resolve(env.home);
  if (env.xdgDataHome) return resolve(env.xdgDataHome, "lading");
  return join(homedir(), ".local", "share", "lading");
}
