/**
 * Issue 19, the realistic case: Debian bookworm minbase (test/helpers/debian.ts)
 * with `apt-get install -y` of the `hello` package, built twice into fresh
 * stores, two seconds apart. Containers get no network here: the .deb
 * comes from `apt-get download` on the host, through the build context.
 *
 * apt and dpkg write the wall-clock time into a few files (their logs, and
 * apt's binary package cache records the times of the files it indexed),
 * which no rule about mtimes can reach; lading does not delete them behind
 * the user's back. So the plain install gives two digests, and the test
 * shows that exactly those files differ; with the cleanup Debian's own
 * images do, the digests are equal.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "../../src/index.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { DEBIAN_TARBALL, debianLayout, ensureDebianPackages, ensureDebianTarball } from "../helpers/debian.js";
import { tempDir } from "../helpers/tmp.js";
import { assertSameBuild, layerListing, type Build } from "./repro-listing.js";

const hello = ensureDebianTarball() ? ensureDebianPackages(["hello"])?.[0] : undefined;
const skip =
  process.getuid!() !== 0 ? "needs root (the rootfs has files of many owners)" :
  !hello && `no cached Debian rootfs and hello package at ${DEBIAN_TARBALL} (as root, LADING_TEST_DEBIAN=1 makes them: a few minutes with deb.debian.org)`;

/** The files apt and dpkg stamp with the time of the run: their logs, and apt's caches of package indexes (which record the indexed files' times). */
const TIME_STAMPED = /^var\/(log\/dpkg\.log|log\/apt\/(history|term)\.log|cache\/apt\/(src)?pkgcache\.bin)$/;
/** What Debian's own images remove after apt for the same reason. */
const CLEANUP = "rm -f /var/log/dpkg.log /var/log/apt/*.log /var/cache/apt/*.bin";
const INSTALL = "apt-get install -y /hello.deb && rm /hello.deb && hello";

const t = tempDir("lading-repro-debian-");
after(t.cleanup);

describe("Debian with apt-get install", { skip }, () => {
  it("gives one digest built twice in fresh stores once apt's time-stamped files are removed, and shows that only those differ otherwise", async (tc) => {
    const base = await debianLayout(join(t.path, "debian"));
    const ctx = join(t.path, "ctx");
    mkdirSync(ctx);
    copyFileSync(hello!, join(ctx, "hello.deb"));
    const head = `FROM ${base.ref}\nCOPY hello.deb /hello.deb\n`;
    writeFileSync(join(ctx, "plain"), `${head}RUN --network=none ${INSTALL}\n`);
    writeFileSync(join(ctx, "cleaned"), `${head}RUN --network=none ${INSTALL} && ${CLEANUP}\n`);
    /** Both images in one session: the base, its snapshot and the COPY are shared. */
    const build = async (store: string): Promise<{ plain: Build; cleaned: Build }> => {
      const [plain, cleaned] = await connect(
        (client) => Promise.all(["plain", "cleaned"].map(async (f) => (await buildContainerfile(client, { context: ctx, file: join(ctx, f) })).digest())),
        { store },
      );
      return { plain: { digest: plain!, listing: await layerListing(store, plain!, 1) }, cleaned: { digest: cleaned!, listing: await layerListing(store, cleaned!, 1) } };
    };
    const first = await build(join(t.path, "s1"));
    await sleep(2000);
    const second = await build(join(t.path, "s2"));

    assertSameBuild(first.cleaned, second.cleaned, "Debian with hello, apt's time-stamped files removed");
    // The plain install: every entry but the time-stamped files' is the same, and those are in both.
    const path = (l: string) => l.split(" ")[2]!;
    const entries = (b: Build) => b.listing.filter((l) => / mtime=/.test(l));
    const differ = [...new Set([...entries(first.plain), ...entries(second.plain)].filter((l) => !entries(first.plain).includes(l) || !entries(second.plain).includes(l)).map(path))].sort();
    tc.diagnostic(`differing files: ${differ.join(" ")}`);
    assert.ok(differ.length > 0 && differ.every((p) => TIME_STAMPED.test(p)), `files that differ between the two plain installs: ${differ.join(" ")}`);
    for (const log of ["var/log/dpkg.log", "var/log/apt/history.log"]) assert.ok(differ.includes(log), `${log} should carry the time: ${differ.join(" ")}`);
    assert.ok(entries(first.plain).some((l) => path(l) === "usr/bin/hello"));
  });
});
