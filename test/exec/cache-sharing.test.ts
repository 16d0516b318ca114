/**
 * Cache mount sharing, as BuildKit defines it, seen from two execs that run
 * at once on the same cache: each writes its own marker and then looks for
 * the other's for a while.
 * - SHARED: both use the cache at the same time and see each other.
 * - PRIVATE: neither waits nor shares: the second gets a private copy
 *   (`<dir>.private-1`), kept for later use; the cache itself is free again
 *   for the next exec.
 * - LOCKED: the second waits for the first, then sees what it left.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ExecResult } from "../../src/exec/run.js";
import { tempDir } from "../helpers/tmp.js";
import { busybox, rmAll, sh, type Busybox } from "./fixture.js";

let b: Busybox;
const caches = tempDir("lading-cache-sharing-");
before(async () => {
  b = await busybox();
});
after(() => {
  b.cleanup();
  rmAll(caches);
});

/** Writes /c/<me>, then waits up to 4 s for /c/<other>; prints "saw" or "alone". */
function visitor(dir: string, sharing: "SHARED" | "PRIVATE" | "LOCKED", me: string, other: string): Promise<ExecResult> {
  const script = `touch /c/${me}; i=0; while [ ! -f /c/${other} ] && [ $i -lt 40 ]; do sleep 0.1; i=$((i+1)); done; if [ -f /c/${other} ]; then echo saw; else echo alone; fi`;
  return sh(b, b.layers, script, { mounts: [{ type: "cache", target: "/c", dir, sharing }] });
}

function newCache(): string {
  return mkdtempSync(join(caches.path, "c-"));
}

describe("cache mount sharing", () => {
  it("SHARED: two execs use the cache at once and see each other's files", async () => {
    const dir = newCache();
    const [x, y] = await Promise.all([visitor(dir, "SHARED", "x", "y"), visitor(dir, "SHARED", "y", "x")]);
    assert.deepEqual([x.stdout, y.stdout], ["saw\n", "saw\n"]);
    assert.deepEqual(readdirSync(dir).sort(), ["x", "y"]);
  });

  it("PRIVATE: the second exec gets a private copy instead of waiting, and the cache is free again afterwards", async () => {
    const dir = newCache();
    const [x, y] = await Promise.all([visitor(dir, "PRIVATE", "x", "y"), visitor(dir, "PRIVATE", "y", "x")]);
    assert.deepEqual([x.stdout, y.stdout], ["alone\n", "alone\n"], "neither saw the other's file");
    const copy = `${dir}.private-1`;
    assert.ok(existsSync(copy), "a private copy was made beside the cache");
    const markers = [...readdirSync(dir), ...readdirSync(copy)].sort();
    assert.deepEqual(markers, ["x", "y"], "one marker in the cache, the other in the copy");
    // Sequential use finds the cache itself, with what the first exec left there.
    const again = await sh(b, b.layers, "ls /c", { mounts: [{ type: "cache", target: "/c", dir, sharing: "PRIVATE" }] });
    assert.equal(again.stdout.trim(), readdirSync(dir).join("\n"));
  });

  it("LOCKED: the second exec waits for the first and then sees what it left", async () => {
    const dir = newCache();
    const [x, y] = await Promise.all([visitor(dir, "LOCKED", "x", "y"), visitor(dir, "LOCKED", "y", "x")]);
    // Whichever ran first was alone; the other found its marker.
    assert.deepEqual([x.stdout, y.stdout].sort(), ["alone\n", "saw\n"]);
    assert.deepEqual(readdirSync(dir).sort(), ["x", "y"]);
  });
});
