// Issue 21: the folders lading makes for itself are private (0700), as the
// XDG base directory spec asks of ~/.local/share and docker does of
// ~/.docker; folders that already exist keep their modes, but lading's own
// state inside an older, 0755 store is closed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { login } from "../../src/registry/login.js";

const t = tempDir("lading-private-");
after(t.cleanup);

const modeOf = (p: string) => statSync(p).mode & 0o7777;
const noStoreEnv = { LADING_HOME: undefined, XDG_DATA_HOME: undefined, LADING_SHARED_STORE: undefined };

test("the default store and the XDG folders lading makes for it are 0700; existing ones keep their mode", async () => {
  const home = join(t.path, "home-fresh");
  mkdirSync(home);
  const r = await lading(["images"], { env: { ...noStoreEnv, HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  for (const p of [".local", ".local/share", ".local/share/lading", ".local/share/lading/blobs", ".local/share/lading/lading", ".local/share/lading/lading/tmp"]) {
    assert.equal(modeOf(join(home, p)).toString(8), "700", p);
  }

  const kept = join(t.path, "home-kept");
  mkdirSync(join(kept, ".local"), { recursive: true });
  chmodSync(join(kept, ".local"), 0o755);
  const k = await lading(["images"], { env: { ...noStoreEnv, HOME: kept } });
  assert.equal(k.code, 0, k.stderr);
  assert.equal(modeOf(join(kept, ".local")).toString(8), "755");
  assert.equal(modeOf(join(kept, ".local", "share")).toString(8), "700");

  const data = join(t.path, "xdg", "data");
  const x = await lading(["images"], { env: { ...noStoreEnv, HOME: home, XDG_DATA_HOME: data } });
  assert.equal(x.code, 0, x.stderr);
  for (const p of [join(t.path, "xdg"), data, join(data, "lading")]) assert.equal(modeOf(p).toString(8), "700", p);
});

test("a store made 0755 by an older lading gets its private state closed, its root left as it is", async () => {
  const store = join(t.path, "old-store");
  for (const d of ["blobs/sha256", "lading/snapshots/root", "lading/volumes", "lading/tmp"]) mkdirSync(join(store, d), { recursive: true, mode: 0o755 });
  chmodSync(store, 0o755);
  const r = await lading(["images", "--store", store], { env: { LADING_SHARED_STORE: undefined } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(modeOf(join(store, "lading")).toString(8), "700");
  assert.equal(modeOf(store).toString(8), "755");
});

test("login makes the docker config folder 0700 and the file 0600", async () => {
  const dir = join(t.path, "cfg", "docker");
  await login("registry.invalid", "me", "secret", { verify: false, dockerConfigDir: dir });
  assert.equal(modeOf(join(t.path, "cfg")).toString(8), "700");
  assert.equal(modeOf(dir).toString(8), "700");
  assert.equal(modeOf(join(dir, "config.json")).toString(8), "600");
});
