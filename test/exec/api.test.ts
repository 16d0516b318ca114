// The Container API's exec surface, end to end through the real runtime
// (runs as root and, in CI, again as an unprivileged user).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, ExecError, type Client, type ProgressEvent } from "../../src/index.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { validateArchive } from "../helpers/validate.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-apiexec-");
let busybox: TestImage;
let client: Client;
const events: ProgressEvent[] = [];
const SECRET = "s3cr3t-" + Math.random().toString(36).slice(2);

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store"), log: (e) => events.push(e) });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

test("the seed's example: expect [0, 42] gives exitCode 42; the default expect throws with 'exit code: 42'", async () => {
  const base = client.container().from(busybox.ref);
  assert.equal(await base.withExec(["sh", "-c", "exit 42"], { expect: [0, 42] }).exitCode(), 42);
  await assert.rejects(base.withExec(["sh", "-c", "echo boom >&2; exit 42"]).sync(), (e: unknown) => {
    assert.ok(e instanceof ExecError);
    assert.equal(e.exitCode, 42);
    assert.match(e.message, /exit code: 42/);
    assert.match(e.stderr, /boom/);
    assert.deepEqual(e.cmd, ["sh", "-c", "echo boom >&2; exit 42"]);
    return true;
  });
  assert.equal(await base.withExec(["false"], { expect: "FAILURE" }).exitCode(), 1);
  assert.equal(await base.withExec(["sh", "-c", "exit 3"], { expect: "ANY" }).exitCode(), 3);
});

test("allowed non-zero exits are cached like successes; failures are never cached", async () => {
  const marker = `m-${Date.now()}`;
  const ok = client.container().from(busybox.ref).withExec(["sh", "-c", `echo ${marker}; exit 7`], { expect: [7] });
  assert.equal(await ok.exitCode(), 7);
  events.length = 0;
  const c2 = await connect({ store: join(t.path, "store"), log: (e) => events.push(e) });
  try {
    const again = c2.container().from(busybox.ref).withExec(["sh", "-c", `echo ${marker}; exit 7`], { expect: [7] });
    assert.equal(await again.stdout(), `${marker}\n`);
    assert.ok(events.some((e) => e.type === "step" && e.status === "cached"));
    events.length = 0;
    const failing = c2.container().from(busybox.ref).withExec(["sh", "-c", `echo ${marker}; exit 7`]);
    await assert.rejects(failing.sync());
    await assert.rejects(c2.container().from(busybox.ref).withExec(["sh", "-c", `echo ${marker}; exit 7`]).sync());
    assert.equal(events.filter((e) => e.type === "step" && e.status === "cached").length, 0);
  } finally {
    await c2.close();
  }
});

test("withExec runs behind an init as PID 1 (Dagger's default); noInit and a Containerfile RUN run the command as PID 1", async () => {
  // As PID 1 a shell ignores SIGTERM it sends itself (no handler); behind an init it dies of it (143).
  const script = "echo pid=$$; kill -TERM $$; exit 3";
  const base = client.container().from(busybox.ref);
  const withInit = base.withExec(["sh", "-c", script], { expect: [3, 143] });
  assert.notEqual(await withInit.stdout(), "pid=1\n");
  assert.equal(await withInit.exitCode(), 143);
  const noInit = base.withExec(["sh", "-c", script], { expect: [3, 143], noInit: true });
  assert.equal(await noInit.stdout(), "pid=1\n");
  assert.equal(await noInit.exitCode(), 3);
  // Exit codes pass through the init unchanged, and it leaves no file in the image.
  const seven = base.withExec(["sh", "-c", "echo x > /x; exit 7"], { expect: [7] });
  assert.equal(await seven.exitCode(), 7);
  const top = await seven.directory("/").entries();
  assert.ok(top.includes("x") && !top.some((n) => n.startsWith("dev")), `no /dev in the image: ${top.join(" ")}`);

  const ctx = join(t.path, "init-ctx");
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Containerfile"), `FROM ${busybox.ref}\nRUN echo $$ > /pid\n`);
  const built = await buildContainerfile(client, { file: join(ctx, "Containerfile"), context: ctx });
  assert.equal(await built.file("/pid").contents(), "1\n");
});

test("a RUN's file changes become one layer: stdout, files, deletions and env come through", async () => {
  const c = client
    .container()
    .from(busybox.ref)
    .withEnvVariable("WHO", "lading")
    .withWorkdir("/work")
    .withExec(["sh", "-c", "echo \"hi $WHO\" > greeting; rm /etc/group; pwd"]);
  assert.equal(await c.stdout(), "/work\n");
  assert.equal(await c.file("/work/greeting").contents(), "hi lading\n");
  const out = join(t.path, "run.tar");
  await c.export(out, { tag: "run" });
  const report = await validateArchive(out, join(t.path, "run"));
  assert.equal(report.layers, 2);
  assert.ok(report.layerPaths[1]!.includes("etc/.wh.group"));
  assert.ok(report.layerPaths[1]!.some((p) => p.startsWith("work/greeting")));
  const bundle = join(t.path, "run-bundle");
  run("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${join(t.path, "run")}:run`, bundle]);
  assert.throws(() => statSync(join(bundle, "rootfs", "etc", "group")));
  assert.equal(readFileSync(join(bundle, "rootfs", "work", "greeting"), "utf8"), "hi lading\n");
});

test("secrets reach the command but never a layer, the cache, the progress output or an error", async () => {
  const secret = client.setSecret("token", SECRET);
  const c = client
    .container()
    .from(busybox.ref)
    .withSecretVariable("TOKEN", secret)
    .withMountedSecret("/run/secrets/token", secret)
    .withExec(["sh", "-c", "test \"$TOKEN\" = \"$(cat /run/secrets/token)\" && echo \"got $TOKEN\" && touch /done"]);
  assert.equal(await c.stdout(), "got ***\n");
  const failing = c.withExec(["sh", "-c", "echo $TOKEN >&2; exit 9"]);
  await assert.rejects(failing.sync(), (e: unknown) => {
    assert.ok(!String((e as Error).message).includes(SECRET));
    assert.ok(!(e as ExecError).stderr.includes(SECRET));
    assert.match((e as ExecError).stderr, /\*\*\*/);
    return true;
  });
  const out = join(t.path, "secret.tar");
  await c.export(out, { forcedCompression: "Uncompressed", tag: "s" });
  // Uncompressed layers: a leaked value or mount file would be visible as plain bytes.
  assert.ok(!readFileSync(out).includes(SECRET), "the secret is in the exported image");
  const report = await validateArchive(out, join(t.path, "secret"));
  assert.ok(!report.layerPaths.flat().some((p) => p.startsWith("run/secrets")), "the secret mount left a file in a layer");
  assert.ok(report.layerPaths.flat().includes("done"));
  const grep = (dir: string): string[] => {
    const hits: string[] = [];
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) hits.push(...grep(p));
      else if (st.isFile() && st.size < 64 << 20 && readFileSync(p).includes(SECRET)) hits.push(p);
    }
    return hits;
  };
  // Nothing lading keeps (blobs, op cache, pins, snapshots) holds the value.
  assert.deepEqual(grep(join(t.path, "store")), []);
  assert.ok(!JSON.stringify(events).includes(SECRET), "the secret reached progress events");
});

test("withMountedDirectory/withMountedFile owner: the mounted tree belongs to that user inside, the host files stay as they were", async () => {
  const src = join(t.path, "owned-src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "sub", "a.txt"), "a\n");
  const before = statSync(join(src, "sub", "a.txt"));
  const dir = client.host().directory(src);
  const file = client.host().directory(src).file("sub/a.txt");
  const out = await client
    .container()
    .from(busybox.ref)
    .withMountedDirectory("/m", dir, { owner: "1234:5678" })
    .withMountedFile("/f.txt", file, { owner: "4321" })
    .withMountedDirectory("/plain", dir)
    .withExec(["sh", "-c", "stat -c '%u:%g %n' /m /m/sub /m/sub/a.txt /f.txt /plain/sub/a.txt"])
    .stdout();
  assert.equal(out, "1234:5678 /m\n1234:5678 /m/sub\n1234:5678 /m/sub/a.txt\n4321:4321 /f.txt\n0:0 /plain/sub/a.txt\n");
  const after = statSync(join(src, "sub", "a.txt"));
  assert.equal(after.uid, before.uid);
  assert.equal(after.gid, before.gid);
});
