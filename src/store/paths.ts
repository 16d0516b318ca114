import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The store's default place: $LADING_HOME, else $XDG_DATA_HOME/lading, else ~/.local/share/lading. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LADING_HOME) return resolve(env.LADING_HOME);
  if (env.XDG_DATA_HOME) return resolve(env.XDG_DATA_HOME, "lading");
  return join(homedir(), ".local", "share", "lading");
}
