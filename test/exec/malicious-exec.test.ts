// The hostile layers of test/api/hostile-layers.ts, unpacked the way
// withExec unpacks them (a snapshot made inside lading's namespaces, then
// runc on top), as root and, in CI, as an unprivileged user. Nothing
// outside the store may change, no payload may land in the store outside
// the snapshot, and the command sees the root filesystem the case defines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { cases, storeArena, type Seen } from "../api/hostile-layers.js";
import { rmAll } from "./fixture.js";

const t = tempDir("lading-evil-exec-");
const bb = join(t.path, "bb");
before(() => {
  // The command's shell comes from a mount: whiteout cases may empty the image itself.
  mkdirSync(bb);
  copyFileSync("/bin/busybox", join(bb, "busybox"));
});
after(() => rmAll(t));

const BB = "/.lading-test-bb/busybox";

/**
 * A line per path, as the command inside the container sees it (the format
 * of `expected`). Contents as hashes: the output is cached in the store,
 * which must not hold the payload.
 */
const LOOK = `b=${BB}; for p in "$@"; do
  if [ -L "/$p" ]; then echo "L $p $($b readlink "/$p")";
  elif [ -d "/$p" ]; then echo "D $p";
  elif [ -f "/$p" ]; then echo "F $p $($b sha256sum < "/$p" | $b cut -c1-64)";
  else echo "N $p"; fi; done`;

function expected(root: Record<string, Seen>): string {
  return Object.entries(root)
    .map(([p, v]) => (v === null ? `N ${p}` : typeof v === "string" ? `F ${p} ${createHash("sha256").update(v).digest("hex")}` : "link" in v ? `L ${p} ${v.link}` : `D ${p}`) + "\n")
    .join("");
}

for (const c of cases) {
  test(`withExec on a hostile image: ${c.name}`, async () => {
    // Snapshots are unpacked at <store>/lading/snapshots/<ids>/<chain id>.
    const { store, src, want, assertUntouched } = await storeArena(t.path, c, 4);
    const client = await connect({ store });
    try {
      const paths = "root" in want ? Object.keys(want.root) : [];
      const ctr = client
        .container()
        .from(src)
        .withMountedDirectory("/.lading-test-bb", client.host().directory(bb))
        .withExec([BB, "sh", "-c", LOOK, "look", ...paths]);
      if ("error" in want) {
        await assert.rejects(ctr.sync(), (e: unknown) => e instanceof LadingError && e.code === want.error);
      } else {
        assert.equal(await ctr.stdout(), expected(want.root));
      }
    } finally {
      await client.close();
    }
    assertUntouched();
  });
}
