// A secret's value is not part of what a step is: changing it leaves the
// step cached (as BuildKit does for RUN --mount=type=secret), and the value
// shows up nowhere lading writes: not in progress, not in debug output, not
// in the store. Through the API and the CLI, with the real runtime.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type ProgressEvent } from "../../src/index.js";
import { lading } from "../helpers/cli.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { rmAll } from "./fixture.js";
import { filesHolding } from "../helpers/files-holding.js";

const t = tempDir("lading-secretcache-");
let busybox: TestImage;
before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => rmAll(t));

const value = (tag: string) => `secret-${tag}-${Math.random().toString(36).slice(2)}`;


// A random value written by the step: the same value later means the step did not run again.
const SCRIPT = 'test -n "$TOKEN" && test "$TOKEN" = "$(cat /run/secrets/token)" && head -c 16 /dev/urandom | od -An -tx1 > /rand && echo "token is $TOKEN"';

test("API: a new secret value reuses the cached step; neither value reaches events or the store", async () => {
  const store = join(t.path, "api-store");
  const values = [value("a"), value("b")];
  const runs: Array<{ rand: string; stdout: string; events: ProgressEvent[] }> = [];
  for (const v of values) {
    const events: ProgressEvent[] = [];
    const client = await connect({ store, log: (e) => events.push(e) });
    try {
      const secret = client.setSecret("token", v);
      const c = client.container().from(busybox.ref).withMountedSecret("/run/secrets/token", secret).withSecretVariable("TOKEN", secret).withExec(["sh", "-c", SCRIPT]);
      runs.push({ rand: await c.file("/rand").contents(), stdout: await c.stdout(), events });
    } finally {
      await client.close();
    }
  }
  assert.match(runs[0]!.rand, /^( [0-9a-f]{2}){16}\n$/);
  assert.equal(runs[1]!.rand, runs[0]!.rand, "the step ran again for a new secret value");
  assert.equal(runs[1]!.stdout, "token is ***\n");
  const steps = (i: number) => runs[i]!.events.filter((e) => e.type === "step" && e.status !== "running").map((e) => (e as { status: string }).status);
  assert.ok(steps(0).includes("done") && !steps(0).includes("cached"), `first run: ${steps(0)}`);
  assert.ok(steps(1).includes("cached"), `second run: ${steps(1)}`);
  for (const r of runs) assert.ok(!values.some((v) => JSON.stringify(r.events).includes(v)), "a secret value reached progress events");
  assert.deepEqual(filesHolding(store, values), [], "a secret value is in the store");
});

test("CLI: --secret with RUN --mount=type=secret: a new value is a cache hit; no value in json progress, LADING_DEBUG output or the store", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, "Containerfile"),
    `FROM ${busybox.ref}\nRUN --mount=type=secret,id=token sh -c 'test -s /run/secrets/token && head -c 16 /dev/urandom | od -An -tx1 > /rand && echo "token is $(cat /run/secrets/token)"'\n`,
  );
  const store = join(t.path, "cli-store");
  const secretFile = join(t.path, "token.txt");
  const values = [value("c"), value("d")];
  const outs: string[] = [];
  const statuses: string[][] = [];
  for (const [i, v] of values.entries()) {
    writeFileSync(secretFile, v);
    const out = join(t.path, `cli-${i}.tar`);
    const r = await lading(["build", "--progress", "json", "--store", store, "--secret", `id=token,src=${secretFile}`, "-o", out, ctx], { env: { LADING_DEBUG: "1" } });
    assert.equal(r.code, 0, r.stderr);
    for (const text of [r.stdout, r.stderr]) assert.ok(!values.some((s) => text.includes(s)), "a secret value is in the CLI's output");
    const events = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; status?: string; name?: string });
    if (i === 0) {
      // Not vacuous: debug lines and the command's (scrubbed) output are there.
      assert.ok(events.some((e) => e.type === "debug"), "LADING_DEBUG=1 printed no debug event");
      assert.ok(events.some((e) => e.type === "log" && (e as { text?: string }).text?.includes("token is ***")), r.stderr);
    }
    statuses.push(events.filter((e) => e.type === "step" && e.name?.startsWith("RUN") && e.status !== "running").map((e) => e.status!));
    outs.push(out);
  }
  assert.deepEqual(statuses[0], ["done"]);
  assert.deepEqual(statuses[1], ["cached"]);
  // The same step result gives the same image, byte for byte.
  assert.deepEqual(readFileSync(outs[1]!), readFileSync(outs[0]!));
  assert.deepEqual(filesHolding(store, values), [], "a secret value is in the store");
  assert.deepEqual(filesHolding(t.path, values).filter((p) => p !== secretFile), [], "a secret value is in a file lading wrote");
});
