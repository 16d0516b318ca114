import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";

const t = tempDir("lading-repro-");
after(t.cleanup);

const indexModule = new URL("../../src/index.js", import.meta.url).href;

/** Builds the same image in a fresh process and store; returns its manifest digest. */
function buildIn(store: string, ctx: string, base: string, env: NodeJS.ProcessEnv = {}): string {
  const script = `
    import { connect } from ${JSON.stringify(indexModule)};
    const d = await connect(async (client) => client.container().from(${JSON.stringify(base)})
      .withDirectory("/src", client.host().directory(${JSON.stringify(ctx)}))
      .withNewFile("/generated.txt", "made by the build\\n")
      .withEnvVariable("K", "v").withLabel("l", "1")
      .digest(), { store: ${JSON.stringify(store)} });
    process.stdout.write(d);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, SOURCE_DATE_EPOCH: "", ...env } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test("the same build in two fresh stores and processes gives the same digest; SOURCE_DATE_EPOCH changes it deterministically", async () => {
  const base = await makeBusyboxLayout(join(t.path, "base"));
  const ctx = join(t.path, "ctx");
  mkdirSync(join(ctx, "d"), { recursive: true });
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "d", "b.txt"), "b\n");
  for (const p of ["a.txt", "d/b.txt", "d", ""]) utimesSync(join(ctx, p), 1_700_000_000, 1_700_000_000);

  const d1 = buildIn(join(t.path, "s1"), ctx, base.ref);
  const d2 = buildIn(join(t.path, "s2"), ctx, base.ref);
  assert.match(d1, /^sha256:[a-f0-9]{64}$/);
  assert.equal(d1, d2);

  const e1 = buildIn(join(t.path, "s3"), ctx, base.ref, { SOURCE_DATE_EPOCH: "1600000000" });
  const e2 = buildIn(join(t.path, "s4"), ctx, base.ref, { SOURCE_DATE_EPOCH: "1600000000" });
  assert.equal(e1, e2);
  assert.notEqual(e1, d1);
});

test("clampMtime and LADING_CLAMP_MTIME take only yes or no, and say so", async () => {
  const { connect } = await import(indexModule);
  await assert.rejects(connect({ store: join(t.path, "bad1"), clampMtime: "no" }), (e: { code?: string; message: string }) => e.code === "INVALID_ARGUMENT" && /clampMtime must be true or false/.test(e.message));
  process.env.LADING_CLAMP_MTIME = "sometimes";
  try {
    await assert.rejects(connect({ store: join(t.path, "bad2") }), (e: { code?: string; message: string }) => e.code === "INVALID_ARGUMENT" && /LADING_CLAMP_MTIME must be 0 or 1, got "sometimes"/.test(e.message));
  } finally {
    delete process.env.LADING_CLAMP_MTIME;
  }
  assert.ok(!existsSync(join(t.path, "bad1")) && !existsSync(join(t.path, "bad2")), "a refused option leaves no store behind");
});
