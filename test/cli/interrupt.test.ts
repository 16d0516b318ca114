import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LADING } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-int-");
after(t.cleanup);

test("SIGINT during a build: exit 130, no output file, no temp files left in the store", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  // Enough incompressible data that the layer is still being written when the signal lands.
  for (let i = 0; i < 6; i++) writeFileSync(join(ctx, `blob${i}.bin`), randomBytes(32 << 20));
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY . /data\n");
  const store = join(t.path, "store");
  const out = join(t.path, "img.tar");
  const child = spawn(process.execPath, [LADING, "build", "--progress", "json", "--store", store, "-o", out, ctx], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let signalled = false;
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on("data", (c) => {
      stderr += c;
      if (!signalled && /"status":"running"/.test(stderr)) {
        signalled = true;
        child.kill("SIGINT");
      }
    });
    child.on("close", (c) => resolve(c));
  });
  assert.ok(signalled, `the build never reported a running step: ${stderr}`);
  assert.equal(code, 130, stderr);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(join(store, "lading", "tmp")), []);
  assert.deepEqual(readdirSync(t.path).filter((n) => n.endsWith(".tmp")), []);
});
