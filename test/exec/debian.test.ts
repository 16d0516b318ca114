/**
 * A realistic root filesystem: Debian bookworm minbase (debootstrap, see
 * test/helpers/debian.ts), one uncompressed layer, where a step edits,
 * deletes and chowns files owned by several ids. Owners must come out exact
 * in the new layer and on the next step — rootless too, where they exist
 * only through subordinate ids.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import type { LayerRef } from "../../src/oci/types.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { DEBIAN_TARBALL as TARBALL, ensureDebianTarball } from "../helpers/debian.js";
import { busybox, layerItems, sh, type Busybox } from "./fixture.js";

const available = ensureDebianTarball();
let b: Busybox;
let debian: LayerRef[];
before(async () => {
  if (!available) return;
  b = await busybox(); // for its store; the Debian layer goes beside
  const tmp = b.store.tempPath("debian");
  copyFileSync(TARBALL, tmp);
  const info = await b.store.putFile(tmp);
  debian = [{ descriptor: { mediaType: MediaType.ociLayer, digest: info.digest, size: info.size }, diffId: info.digest }];
});
after(() => b?.cleanup());

describe("a Debian minbase root filesystem", { skip: !available && `no cached Debian rootfs at ${TARBALL} (as root, LADING_TEST_DEBIAN=1 makes it: a few minutes with deb.debian.org)` }, () => {
  it("keeps every owner exact through unpack, RUN and the new layer", async () => {
    const step =
      "echo '# lading' >> /etc/shadow && rm -r /var/cache/apt/archives/partial && touch /var/mail/new && chown 8:8 /var/mail/new && " +
      "chown 65534:65534 /etc/issue && useradd -u 1234 -U builder && stat -c '%u:%g %a' /etc/shadow";
    const env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
    const r = await sh(b, debian, step, { env });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "0:42 640\n");
    const by = new Map((await layerItems(b.store, r.layer!)).map((i) => [i.name, i]));
    const owner = (n: string) => {
      const i = by.get(n);
      assert.ok(i, `${n} missing from the layer: ${[...by.keys()].join(" ")}`);
      return `${i.uid}:${i.gid} ${i.mode.toString(8)}`;
    };
    assert.equal(owner("etc/shadow"), "0:42 640");
    assert.match(by.get("etc/shadow")!.body, /builder:.*\n# lading\n$|# lading\n(.|\n)*builder:/);
    assert.equal(owner("etc/gshadow"), "0:42 640");
    assert.equal(owner("var/mail"), "0:8 2775");
    assert.equal(owner("var/mail/new"), "8:8 644");
    assert.equal(owner("etc/issue"), "65534:65534 644");
    assert.ok(by.has("var/cache/apt/archives/.wh.partial"));
    assert.match(by.get("etc/passwd")!.body, /^builder:x:1234:1234:/m);

    const next = await sh(b, [...debian, r.layer!], "stat -c '%n %u:%g %a' /etc/shadow /var/mail/new /etc/issue; test -e /var/cache/apt/archives/partial || echo partial gone; id builder", { env });
    assert.equal(
      next.stdout,
      "/etc/shadow 0:42 640\n/var/mail/new 8:8 644\n/etc/issue 65534:65534 644\npartial gone\nuid=1234(builder) gid=1234(builder) groups=1234(builder)\n",
    );
  });
});
