/**
 * A killed lading leaves nothing running: SIGKILL the process mid-exec
 * (and, harder, its helper too), then reapLeftovers and a new run succeed
 * and no container, mount or runtime state is left.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { reapLeftovers } from "../../src/exec/run.js";
import { EXEC_HELPER } from "../../src/engine/exec-helper-path.js";
import { readEnvConfig } from "../../src/env-config.js";
import { chooseRuntime } from "../../src/exec/detect.js";
import { currentIdentity, identityTag, unshareArgs } from "../../src/exec/identity.js";
import { runTool } from "../../src/exec/proc.js";
import { pidAlive } from "../../src/fsutil/pid-alive.js";
import { busybox, sh, type Busybox } from "./fixture.js";

const CHILD = fileURLToPath(new URL("./kill-child.js", import.meta.url));
let b: Busybox;
before(async () => {
  b = await busybox();
});
after(() => b.cleanup());

type Runtime = "runc" | "crun";

function stateRoot(runtime: Runtime = "runc"): string {
  return join(b.store.root, "lading", "runc", identityTag(currentIdentity()) + (runtime === "crun" ? "-crun" : ""));
}

/** Containers the runtime knows in the store's state dir, asked from inside lading's namespace. */
async function containers(runtime: Runtime = "runc"): Promise<Array<{ id: string; status: string }>> {
  const rt = chooseRuntime(runtime);
  const r = await runTool("unshare", [...unshareArgs(currentIdentity()), "--", rt.path, "--root", stateRoot(runtime), "list", "--format", "json"]);
  return r.stdout.trim() && r.stdout.trim() !== "null" ? JSON.parse(r.stdout) : [];
}

/** Mounts anywhere on the machine that mention this store (overlay roots, binds). */
function mountsOfStore(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      for (const l of readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n")) if (l.includes(b.store.root)) out.push(`${pid}: ${l}`);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

async function startChild(runtime: Runtime): Promise<{ pid: number; exited: Promise<void> }> {
  const child = spawn(process.execPath, [CHILD, b.store.root, JSON.stringify(b.layers), JSON.stringify(b.env)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LADING_RUNTIME: runtime } });
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve());
    child.on("close", () => reject(new Error("the child ended before its container started")));
  });
  return { pid: child.pid!, exited };
}

async function waitFor(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("cancelling an exec", () => {
  it("an aborted signal stops the container and rejects with CANCELLED", async () => {
    const ac = new AbortController();
    const run = sh(b, b.layers, "echo ready; sleep 30", { signal: ac.signal, onOutput: (_s, c) => c.toString().includes("ready") && ac.abort() });
    await assert.rejects(run, (e: { code?: string }) => e.code === "CANCELLED");
    await waitFor(async () => (await containers()).length === 0, "the container to go");
    assert.deepEqual(mountsOfStore(), []);
  });
});

for (const runtime of ["runc", "crun"] as const) {
describe(`killing lading mid-exec (${runtime})`, { skip: !runtimeInstalled(runtime) && `${runtime} is not installed` }, () => {
  it("SIGKILL of lading: its helper stops the container on its own", async () => {
    const c = await startChild(runtime);
    assert.equal((await containers(runtime)).length, 1);
    process.kill(c.pid, "SIGKILL");
    await c.exited;
    await waitFor(async () => (await containers(runtime)).length === 0, "the container to go");
    await reapLeftovers(b.store, EXEC_HELPER, readEnvConfig());
    assert.deepEqual(await containers(runtime), []);
    assert.deepEqual(mountsOfStore(), []);
    const r = await sh(b, b.layers, "echo again", { runtime });
    assert.equal(r.stdout, "again\n");
  });

  it("SIGKILL of lading and its helper: reapLeftovers kills and deletes the container", async () => {
    const c = await startChild(runtime);
    const [owner] = readdirSync(stateRoot(runtime)).filter((n) => n.endsWith(".owner.json"));
    const { helperPid } = JSON.parse(readFileSync(join(stateRoot(runtime), owner!), "utf8")) as { helperPid: number };
    process.kill(helperPid, "SIGKILL");
    process.kill(c.pid, "SIGKILL");
    await c.exited;
    await waitFor(() => !pidAlive(helperPid), "the helper to die");
    assert.equal((await containers(runtime)).length, 1, "the container outlives a SIGKILLed helper");
    await reapLeftovers(b.store, EXEC_HELPER, readEnvConfig());
    assert.deepEqual(await containers(runtime), []);
    assert.deepEqual(mountsOfStore(), []);
    assert.deepEqual(readdirSync(stateRoot(runtime)), []);
    assert.deepEqual(cgroupsOf(helperPid), [], "the dead helper's cgroups are removed");
    const r = await sh(b, b.layers, "echo again", { runtime });
    assert.equal(r.stdout, "again\n");
  });
});
}

/** lading's cgroups named after a helper pid, in every hierarchy. */
function cgroupsOf(pid: number): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    for (const n of (() => { try { return readdirSync(join("/sys/fs/cgroup", h)); } catch { return []; } })()) if (n.startsWith(`lading-${pid}-`)) out.push(join(h, n));
  }
  return out;
}

function runtimeInstalled(runtime: Runtime): boolean {
  try {
    chooseRuntime(runtime);
    return true;
  } catch {
    return false;
  }
}
