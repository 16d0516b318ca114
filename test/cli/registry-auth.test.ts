/**
 * login, push, pull and logout as a user runs them, against the real
 * registry with basic (htpasswd) and token auth: where login writes the
 * credentials ($DOCKER_CONFIG/config.json as docker does, or
 * $REGISTRY_AUTH_FILE as podman does), that push and pull use them, and
 * that after logout a push fails with a clear auth error and exit 1.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type StartRegistryOptions } from "../helpers/registry.js";
import { execFileP, run } from "../helpers/tools.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-cli-auth-");
after(t.cleanup);
const user = "alice";
const pass = "wonderland-7";

const kinds: Array<[string, StartRegistryOptions]> = [
  ["basic auth (htpasswd)", { htpasswd: { user, pass } }],
  ["token auth, no anonymous pull", { token: { user, pass, anonymousPull: false } }],
];

for (const [kind, options] of kinds) {
  test(`${kind}: push refused before login; login writes $DOCKER_CONFIG/config.json; push and pull work; logout removes it and push fails again`, async () => {
    const dir = join(t.path, kind.split(" ")[0]!);
    const u = userEnv(dir);
    const dockerConfig = join(dir, "docker-config");
    const env = { ...u.env, DOCKER_CONFIG: dockerConfig };
    const reg = await startRegistry(options);
    try {
      const image = await makeBusyboxLayout(join(dir, "image"), "latest");
      const source = `oci:${image.dir}:latest`;
      const cli = (args: string[], input?: string) => lading(args, { env, input });

      const anonymous = await cli(["push", "--progress", "quiet", source, `${reg.host}/team/app:1`]);
      assert.equal(anonymous.code, 1);
      assert.match(anonymous.stderr, /lading login/);
      assert.doesNotMatch(anonymous.stderr, /\n\s+at /);

      const wrong = await cli(["login", reg.host, "-u", user, "--password-stdin"], "not-the-password\n");
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`login to ${reg.host} failed: (the registry|its token server) refused the credentials of user "alice"`));
      assert.doesNotMatch(wrong.stderr, /\n\s+at /);
      assert.ok(!existsSync(join(dockerConfig, "config.json")), "a refused login stores nothing");

      const login = await cli(["login", reg.host, "-u", user, "--password-stdin"], pass + "\n");
      assert.equal(login.code, 0, login.stderr);
      assert.equal(login.stdout, "Login Succeeded\n");
      const configFile = join(dockerConfig, "config.json");
      const config = JSON.parse(readFileSync(configFile, "utf8"));
      assert.deepEqual(config.auths, { [reg.host]: { auth: Buffer.from(`${user}:${pass}`).toString("base64") } });
      assert.equal(statSync(configFile).mode & 0o777, 0o600);
      assert.ok(!existsSync(join(u.home, ".docker")), "with $DOCKER_CONFIG set, ~/.docker is left alone");

      const pushed = await cli(["push", "--progress", "quiet", source, `${reg.host}/team/app:1`]);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(pushed.stdout, `${reg.host}/team/app:1@${image.manifestDigest}\n`);
      // Asynchronously: with token auth, this process serves the tokens skopeo asks for.
      const seen = JSON.parse((await execFileP("skopeo", ["inspect", "--tls-verify=false", "--creds", `${user}:${pass}`, `docker://${reg.host}/team/app:1`])).stdout);
      assert.equal(seen.Digest, image.manifestDigest);

      const out = join(dir, "pulled.tar");
      const pulled = await cli(["pull", "--progress", "quiet", "--store", join(dir, "pull-store"), "-o", `type=oci,dest=${out}`, `${reg.host}/team/app:1`]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(pulled.stdout, image.manifestDigest + "\n");
      assert.equal(JSON.parse(run("skopeo", ["inspect", `oci-archive:${out}`])).Digest, image.manifestDigest);

      const logout = await cli(["logout", reg.host]);
      assert.equal(logout.code, 0, logout.stderr);
      assert.equal(logout.stdout, `Removed login credentials for ${reg.host}\n`);
      assert.deepEqual(JSON.parse(readFileSync(configFile, "utf8")).auths, {});

      const refused = await cli(["push", "--progress", "quiet", source, `${reg.host}/team/app:2`]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /lading login/);
      assert.doesNotMatch(refused.stderr, /\n\s+at /);
      const pullRefused = await cli(["pull", "--progress", "quiet", "--store", join(dir, "pull-store-2"), `${reg.host}/team/app:1`]);
      assert.equal(pullRefused.code, 1);
      assert.match(pullRefused.stderr, /lading login/);

      const again = await cli(["logout", reg.host]);
      assert.equal(again.code, 0);
      assert.equal(again.stdout, `Not logged in to ${reg.host}\n`);
    } finally {
      await reg.stop();
    }
  });
}

test("$REGISTRY_AUTH_FILE: login writes that containers auth.json (not docker's config.json), push reads it, logout empties it", async () => {
  const dir = join(t.path, "authfile");
  const u = userEnv(dir);
  const authFile = join(dir, "auth.json");
  const env = { ...u.env, REGISTRY_AUTH_FILE: authFile };
  const reg = await startRegistry({ htpasswd: { user, pass } });
  try {
    const image = await makeBusyboxLayout(join(dir, "image"), "latest");
    const login = await lading(["login", reg.host, "-u", user, "--password-stdin"], { env, input: pass });
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(JSON.parse(readFileSync(authFile, "utf8")).auths, { [reg.host]: { auth: Buffer.from(`${user}:${pass}`).toString("base64") } });
    assert.ok(!existsSync(join(u.dockerConfig, "config.json")));
    const pushed = await lading(["push", "--progress", "quiet", `oci:${image.dir}:latest`, `${reg.host}/af/app:1`], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(pushed.stdout, `${reg.host}/af/app:1@${image.manifestDigest}\n`);
    const logout = await lading(["logout", reg.host], { env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.deepEqual(JSON.parse(readFileSync(authFile, "utf8")).auths, {});
    const refused = await lading(["push", "--progress", "quiet", `oci:${image.dir}:latest`, `${reg.host}/af/app:2`], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /lading login/);
  } finally {
    await reg.stop();
  }
});
