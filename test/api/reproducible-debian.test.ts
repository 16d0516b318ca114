/**
 * Issue 19, the realistic case: Debian bookworm minbase (test/helpers/debian.ts)
 * with `apt-get install -y` of the `hello` package, built twice by
 * `lading build` into fresh stores, two seconds apart, gives one digest.
 * Containers have no internet: the .deb comes from `apt-get download` on
 * the host, through the build context.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { lading } from "../helpers/cli.js";
import { DEBIAN_TARBALL, debianLayout, ensureDebianPackage, ensureDebianTarball } from "../helpers/debian.js";
import { tempDir } from "../helpers/tmp.js";
import { assertSameBuild, layerListing, type Build } from "./repro-listing.js";

const hello = ensureDebianTarball() ? ensureDebianPackage("hello") : undefined;
const skip =
  process.getuid!() !== 0 ? "needs root (the rootfs has files of many owners)" :
  !hello && `no cached Debian rootfs and hello package at ${DEBIAN_TARBALL} (as root, LADING_TEST_DEBIAN=1 makes them: a few minutes with deb.debian.org)`;

const t = tempDir("lading-repro-debian-");
after(t.cleanup);

describe("Debian with apt-get install", { skip }, () => {
  it("gives one digest built twice in fresh stores", async () => {
    const base = await debianLayout(join(t.path, "debian"));
    const ctx = join(t.path, "ctx");
    mkdirSync(ctx);
    copyFileSync(hello!, join(ctx, "hello.deb"));
    writeFileSync(
      join(ctx, "Containerfile"),
      `FROM ${base.ref}\nCOPY hello.deb /root/hello.deb\nRUN apt-get install -y /root/hello.deb && rm /root/hello.deb && hello\n`,
    );
    const build = async (store: string): Promise<Build> => {
      const r = await lading(["build", "--progress", "plain", "--store", store, ctx], { env: { SOURCE_DATE_EPOCH: "", LADING_CLAMP_MTIME: "" } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Hello, world!/);
      const digest = r.stdout.trim();
      return { digest, listing: await layerListing(store, digest, 1) };
    };
    const first = await build(join(t.path, "s1"));
    await sleep(2000);
    const second = await build(join(t.path, "s2"));
    assertSameBuild(first, second, "Debian with hello, built twice");
  });
});
