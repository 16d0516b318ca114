/**
 * withRegistryAuth is an op of its chain, as in Dagger: the containers built
 * on it use the credentials, a sibling made from the same parent does not,
 * and withoutRegistryAuth takes them away again. Against a real registry
 * with htpasswd auth; docker and containers config files are pointed at an
 * empty folder so nothing of the machine's own login can stand in.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, LadingError, type Client } from "../../src/index.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-regauth-");
// Not REGISTRY_AUTH_FILE: docker-registry would read any REGISTRY_* variable as its own configuration.
process.env.HOME = t.path;
process.env.DOCKER_CONFIG = join(t.path, "docker");
delete process.env.XDG_RUNTIME_DIR;
let reg: RegistryHandle;

before(async () => {
  reg = await startRegistry({ htpasswd: { user: "alice", pass: "s3cret" } });
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

const refused = (e: unknown) => e instanceof LadingError && e.code === "AUTH";

function image(client: Client) {
  return client.container().withNewFile("/hello.txt", "hello\n");
}

test("a chain's registry credentials reach its publish() and from(), never a sibling's", async () => {
  await connect(async (client) => {
    const secret = client.setSecret("pw", "s3cret");
    const base = image(client);
    const authed = base.withRegistryAuth(reg.host, "alice", secret);
    await assert.rejects(base.publish(`${reg.host}/team/app:sibling`), refused);
    const published = await authed.publish(`${reg.host}/team/app:1`);
    assert.match(published, new RegExp(`^${reg.host}/team/app:1@sha256:[0-9a-f]{64}$`));
    // Later steps on the chain keep them; withoutRegistryAuth drops them.
    await authed.withEnvVariable("X", "1").publish(`${reg.host}/team/app:2`);
    await assert.rejects(authed.withoutRegistryAuth(reg.host).publish(`${reg.host}/team/app:3`), refused);
    // The credentials are not part of the image: the same digest with or without them.
    assert.equal(await authed.digest(), await base.digest());
  }, { store: join(t.path, "store-a") });
  // A fresh store, so from() must ask the registry.
  await connect(async (client) => {
    const secret = client.setSecret("pw", "s3cret");
    const scratch = client.container();
    await assert.rejects(scratch.from(`${reg.host}/team/app:1`).sync(), refused);
    const pulled = scratch.withRegistryAuth(reg.host, "alice", secret).from(`${reg.host}/team/app:1`);
    assert.equal(await pulled.file("/hello.txt").contents(), "hello\n");
  }, { store: join(t.path, "store-b") });
});

test("withRegistryAuth with a secret that has no value fails at once, saying which", async () => {
  await connect(async (client) => {
    const other = await connect({ store: join(t.path, "store-d") });
    try {
      const foreign = other.setSecret("elsewhere", "x");
      assert.throws(() => client.container().withRegistryAuth(reg.host, "alice", foreign), (e: unknown) => e instanceof LadingError && e.code === "NOT_FOUND" && /elsewhere/.test(e.message));
    } finally {
      await other.close();
    }
  }, { store: join(t.path, "store-c") });
});
