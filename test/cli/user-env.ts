/**
 * An environment for a `lading` child process whose home, docker config and
 * containers auth file all live under one temp dir, so a test never reads
 * or writes the logins of whoever runs the suite.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export interface UserEnv {
  env: NodeJS.ProcessEnv;
  home: string;
  /** $DOCKER_CONFIG: where `lading login` writes config.json. */
  dockerConfig: string;
}

export function userEnv(dir: string): UserEnv {
  const home = join(dir, "home");
  const dockerConfig = join(home, ".docker");
  mkdirSync(home, { recursive: true });
  return {
    home,
    dockerConfig,
    env: {
      HOME: home,
      DOCKER_CONFIG: dockerConfig,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_DATA_HOME: join(home, ".local", "share"),
      // spawn drops undefined entries: the suite's own values must not leak in.
      XDG_RUNTIME_DIR: undefined,
      REGISTRY_AUTH_FILE: undefined,
      LADING_HOME: undefined,
      LADING_DEBUG: undefined,
    },
  };
}
