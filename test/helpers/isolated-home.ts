/**
 * Tests never see the user's own registry logins or container settings:
 * ~/.docker/config.json (whose credsStore may name a helper that is not
 * there), ~/.config/containers, $REGISTRY_AUTH_FILE, root's
 * /run/containers/0/auth.json, a $LADING_HOME store. Importing this module
 * points the test process (lading in-process) and so every lading, skopeo,
 * podman or umoci it starts at an empty home of its own, made fresh per
 * process and removed when the process exits. The helpers that start those
 * tools (cli.ts, tools.ts, registry.ts) import it, so no test has to.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), "lading-home-"));
process.on("exit", () => {
  try {
    rmSync(base, { recursive: true, force: true });
  } catch (err) {
    console.error(`could not remove the test home ${base}: ${(err as Error).message}`);
  }
});

const home = join(base, "home");
// Without $XDG_RUNTIME_DIR, skopeo and podman run as root read /run/containers/0/auth.json; they want it private.
const runtimeDir = join(base, "run");
mkdirSync(home);
mkdirSync(runtimeDir, { mode: 0o700 });

Object.assign(process.env, {
  HOME: home,
  XDG_CONFIG_HOME: join(home, ".config"),
  XDG_DATA_HOME: join(home, ".local", "share"),
  XDG_CACHE_HOME: join(home, ".cache"),
  XDG_STATE_HOME: join(home, ".local", "state"),
  XDG_RUNTIME_DIR: runtimeDir,
});
// Each of these would send a tool (or lading) to the user's files instead of the empty home.
// DOCKER_CONFIG is unset rather than pointed into it: podman fails when it names a dir without config.json.
for (const name of ["DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "LADING_HOME", "CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_AUTH_FILE"]) delete process.env[name];

/** The empty home this test process runs with. */
export const ISOLATED_HOME = home;
