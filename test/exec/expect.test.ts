// withExec's `expect` at its edges, through the real runtime (as root and,
// in CI, again as an unprivileged user): which exit codes each value
// accepts, what a signal's death reports (128+N, as docker does), what an
// ExecError carries, and that a bad `expect` is refused when withExec is called.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, ExecError, LadingError, type Client, type ExecExpect } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { rmAll } from "./fixture.js";

const t = tempDir("lading-expect-");
let busybox: TestImage;
let client: Client;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store") });
});
after(async () => {
  await client?.close();
  rmAll(t);
});

function execError(check: (e: ExecError) => void) {
  return (e: unknown) => {
    assert.ok(e instanceof ExecError, `expected an ExecError, got ${String(e)}`);
    assert.equal(e.code, "EXEC_FAILED");
    check(e);
    return true;
  };
}

test('expect "FAILURE" on a command that exits 0 fails with an ExecError carrying cmd, exit code, stdout and stderr', async () => {
  const args = ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 0"];
  await assert.rejects(
    client.container().from(busybox.ref).withExec(args, { expect: "FAILURE" }).sync(),
    execError((e) => {
      assert.deepEqual(e.cmd, args);
      assert.equal(e.exitCode, 0);
      assert.equal(e.stdout, "to-stdout\n");
      assert.equal(e.stderr, "to-stderr\n");
      assert.match(e.message, /exit code: 0/);
    }),
  );
});

test("a failing step's ExecError holds that step's command and output, not an earlier step's", async () => {
  const first = client.container().from(busybox.ref).withExec(["sh", "-c", "echo first-out; echo first-err >&2"]);
  const args = ["sh", "-c", "printf 'partial\\nout'; printf 'why it failed' >&2; exit 5"];
  await assert.rejects(
    first.withExec(args).sync(),
    execError((e) => {
      assert.deepEqual(e.cmd, args);
      assert.equal(e.exitCode, 5);
      assert.equal(e.stdout, "partial\nout");
      assert.equal(e.stderr, "why it failed");
      assert.match(e.message, /why it failed/);
    }),
  );
});

test('expect "ANY" reports exit codes above 128 as they are', async () => {
  const c = client.container().from(busybox.ref).withExec(["sh", "-c", "exit 200"], { expect: "ANY" });
  assert.equal(await c.exitCode(), 200);
  assert.equal(await client.container().from(busybox.ref).withExec(["sh", "-c", "exit 255"], { expect: "ANY" }).exitCode(), 255);
});

test('a command killed by a signal exits 128+N: accepted by "ANY", "FAILURE" and [137], refused by the default', async () => {
  // Behind the default init the shell is not PID 1, so SIGKILL reaches it.
  const script = "echo before; kill -9 $$; echo after";
  const base = client.container().from(busybox.ref);
  const any = base.withExec(["sh", "-c", script], { expect: "ANY" });
  assert.equal(await any.exitCode(), 137);
  assert.equal(await any.stdout(), "before\n");
  assert.equal(await base.withExec(["sh", "-c", script], { expect: "FAILURE" }).exitCode(), 137);
  assert.equal(await base.withExec(["sh", "-c", "kill -TERM $$"], { expect: [143] }).exitCode(), 143);
  await assert.rejects(
    base.withExec(["sh", "-c", script]).sync(),
    execError((e) => {
      assert.equal(e.exitCode, 137);
      assert.equal(e.stdout, "before\n");
    }),
  );
});

test("an invalid expect is refused with INVALID_ARGUMENT when withExec is called, before anything runs", () => {
  const base = client.container().from(busybox.ref);
  const bad: unknown[] = ["SOMETIMES", "success", [], [-1], [1.5], [256], ["0"], [0, null], 0, {}, true];
  for (const expect of bad) {
    assert.throws(
      () => base.withExec(["true"], { expect: expect as ExecExpect }),
      (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && e.message.includes("expect"),
      `expect ${JSON.stringify(expect)}`,
    );
  }
  // The edges that are valid.
  for (const expect of [[0], [255], [0, 1, 255], "SUCCESS", "FAILURE", "ANY"] as ExecExpect[]) base.withExec(["true"], { expect });
});
