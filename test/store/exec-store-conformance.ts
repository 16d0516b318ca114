/**
 * The contract of ExecStore beyond its blobs (exec/exec-store.ts), for any
 * implementation: private state folders, temp paths on the blobs'
 * filesystem, exclusive named locks.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ExecStore } from "../../src/exec/exec-store.js";

export function execStoreConformance(name: string, make: () => Promise<ExecStore>): void {
  describe(`ExecStore conformance: ${name}`, () => {
    it("stateDir makes one folder per kind, reachable by its owner only, the same one each time", async () => {
      const s = await make();
      const a = await s.stateDir("snapshots");
      const b = await s.stateDir("runc");
      assert.notEqual(a, b);
      assert.equal(await s.stateDir("snapshots"), a);
      for (const d of [a, b]) {
        const st = await stat(d);
        assert.ok(st.isDirectory());
        assert.equal(st.mode & 0o077, 0, `${d} is reachable by others (mode ${(st.mode & 0o777).toString(8)})`);
      }
    });

    it("tempPath names a fresh path each time, in a folder on the blobs' filesystem", async () => {
      const s = await make();
      const [p, q] = [s.tempPath("exec"), s.tempPath("exec")];
      assert.notEqual(p, q);
      await writeFile(p, "x");
      const info = await s.putFile(p);
      assert.ok(await s.hasBlob(info.digest));
      assert.equal((await stat(dirname(q))).dev, (await stat(dirname(p))).dev);
    });

    it("a held lock is not free: tryLock gives undefined until it is released, withLock waits for it", async () => {
      const s = await make();
      const release = await s.tryLock("cache-x");
      assert.ok(release);
      assert.equal(await s.tryLock("cache-x"), undefined);
      assert.ok(await s.tryLock("cache-y").then(async (r) => (await r?.(), !!r)), "another name is free");
      const order: string[] = [];
      const waiting = s.withLock("cache-x", async () => void order.push("second"), { waitForever: true });
      await new Promise((r) => setTimeout(r, 100));
      order.push("first");
      await release();
      await waiting;
      assert.deepEqual(order, ["first", "second"]);
      const again = await s.tryLock("cache-x");
      assert.ok(again, "free once withLock is done");
      await again();
    });
  });
}
