/**
 * A realistic service: Redis from Debian bookworm's packages, unpacked into
 * the debootstrap minbase image (test/helpers/debian.ts; no internet in
 * containers: the .debs are downloaded on the host and cached), and a client
 * container running commands against it by hostname.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, type Client, type Container } from "../../src/index.js";
import { debianLayout, ensureDebianPackages, ensureDebianTarball } from "../helpers/debian.js";
import { tempDir } from "../helpers/tmp.js";

const PACKAGES = ["redis-server", "redis-tools", "libjemalloc2", "liblzf1", "libssl3", "libatomic1"];
const debs = (ensureDebianTarball() && ensureDebianPackages(PACKAGES)) || [];
const available = debs.length === PACKAGES.length;

const t = tempDir("lading-services-redis-");
let client: Client;
let redis: Container;
before(async () => {
  if (!available) return;
  const image = await debianLayout(join(t.path, "debian"));
  client = await connect({ store: join(t.path, "store") });
  let c = client.container().from(image.ref);
  for (const d of debs) c = c.withFile(`/tmp/debs/${d.split("/").pop()}`, client.host().file(d));
  // The files without maintainer scripts (adduser and systemd have nothing to do here); tar keeps
  // the merged-/usr links (redis-server ships /lib/systemd, which would replace the /lib link).
  redis = c.withExec(["sh", "-c", "for d in /tmp/debs/*.deb; do dpkg-deb --fsys-tarfile $d | tar -x --keep-directory-symlink -C /; done && rm -r /tmp/debs && redis-server --version"]);
});
after(async () => {
  await client?.close();
  t.cleanup();
});

describe("Redis from Debian packages as a service", { skip: !available && "no cached Debian rootfs and Redis packages (as root, LADING_TEST_DEBIAN=1 makes them from deb.debian.org)" }, () => {
  it("a client container sets and reads keys on it by hostname", async () => {
    const db = redis
      .withExposedPort(6379)
      .withExec(["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"])
      .asService()
      .withHostname("redis");
    const out = await redis
      .withServiceBinding("db", db)
      .withExec(["sh", "-c", "redis-cli -h db set greeting hello && redis-cli -h redis get greeting && redis-cli -h db incrby n 41 && redis-cli -h db incr n"])
      .stdout();
    assert.equal(out, "OK\nhello\n41\n42\n");
  });
});
