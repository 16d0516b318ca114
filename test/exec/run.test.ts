/**
 * runExec end to end on a local busybox image, through the default runtime
 * (runc here) and the namespaces of whoever runs the suite (root, or an
 * unprivileged user with subordinate ids through .ci/rootless.sh).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectRuntime } from "../../src/exec/run.js";
import { readEnvConfig } from "../../src/env-config.js";
import { LadingError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { filesHolding } from "../helpers/files-holding.js";
import { busybox, layerItems, rmAll, sh, type Busybox } from "./fixture.js";

let b: Busybox;
/** Host-side dirs the tests mount (caches get files of the container's ids, so rmAll). */
const dirs = tempDir("lading-exec-mounts-");
before(async () => {
  b = await busybox();
});
after(() => {
  b.cleanup();
  rmAll(dirs);
});

describe("runExec", () => {
  it("returns the exit code and both outputs, and no layer when nothing changed", async () => {
    const r = await sh(b, b.layers, "echo out; echo err >&2; exit 42");
    assert.equal(r.exitCode, 42);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.layer, undefined);
    assert.ok(r.metrics.wallSeconds > 0);
    assert.ok(["cgroup2-psi", "cgroup2", "cgroup1-cpuacct", "rusage", "runtime"].includes(r.metrics.source));
    assert.equal(typeof r.metrics.cpuUserSeconds, "number");
  });

  it("turns the files a step writes into one layer listing exactly those files", async () => {
    const r = await sh(b, b.layers, "mkdir -p /work/sub && echo hello > /work/sub/a.txt && printf x > /root/b");
    assert.equal(r.exitCode, 0);
    assert.ok(r.layer);
    assert.ok(await b.store.hasBlob(r.layer.descriptor.digest, r.layer.descriptor.size));
    const items = await layerItems(b.store, r.layer);
    assert.deepEqual(
      items.map((i) => i.name),
      ["root", "root/b", "work", "work/sub", "work/sub/a.txt"],
    );
    assert.equal(items.find((i) => i.name === "work/sub/a.txt")!.body, "hello\n");
    assert.equal(items.find((i) => i.name === "root")!.mode, 0o700);
  });

  it("leaves no trace of the runtime's mountpoints, /etc/hosts or the exec's mounts", async () => {
    const cache = mkdtempSync(join(dirs.path, "cache-"));
    const bind = mkdtempSync(join(dirs.path, "bind-"));
    writeFileSync(join(bind, "in.txt"), "from the host\n");
    const r = await sh(b, b.layers, "cat /etc/hosts >/dev/null && cat /src/in.txt && echo c >> /var/cache/x/log && echo t > /scratch/t && cat /run/secrets/s", {
      mounts: [
        { type: "cache", target: "/var/cache/x", dir: cache, sharing: "LOCKED" },
        { type: "bind", target: "/src", source: bind, readOnly: true },
        { type: "tmpfs", target: "/scratch" },
        { type: "secret", target: "/run/secrets/s", data: Buffer.from("s3cr3t"), mode: 0o400, uid: 0, gid: 0 },
      ],
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "from the host\ns3cr3t");
    assert.equal(r.layer, undefined, "mount stubs must not reach a layer");
    assert.equal(readFileSync(join(cache, "log"), "utf8"), "c\n");
  });

  it("keeps a read-only bind read-only and a secret variable out of the layer", async () => {
    const bind = mkdtempSync(join(dirs.path, "bind-"));
    const r = await sh(b, b.layers, 'echo x > /src/no 2>/dev/null; echo "$TOKEN" | wc -c > /len; echo $?', {
      mounts: [{ type: "bind", target: "/src", source: bind, readOnly: true }],
      secretEnv: { TOKEN: "topsecret-value" },
    });
    assert.equal(r.exitCode, 0);
    const items = await layerItems(b.store, r.layer!);
    assert.deepEqual(items.map((i) => i.name), ["len"]);
    assert.equal(items[0]!.body.trim(), "16");
    assert.ok(!items.some((i) => i.body.includes("topsecret")));
    // Nor is it left in the store once the exec has answered: the runtime's spec, which holds it, is emptied.
    assert.deepEqual(filesHolding(b.store.root, ["topsecret-value"]), []);
  });

  it("resolves users through the image's /etc/passwd and /etc/group, and applies cwd, env and stdin", async () => {
    const r = await sh(b, b.layers, 'id -u; id -g; pwd; echo "$GREETING"; cat', { user: "app", cwd: "/home/app", env: [...b.env, "GREETING=hi"], stdin: "from stdin\n" });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "1000\n1000\n/home/app\nhi\nfrom stdin\n");
    const g = await sh(b, b.layers, "id -u; id -g", { user: "1000:shadow" });
    assert.equal(g.stdout, "1000\n42\n");
    await assert.rejects(sh(b, b.layers, "true", { user: "nosuchuser" }), (e: LadingError) => e.code === "INVALID_ARGUMENT" && /nosuchuser/.test(e.message));
  });

  it("creates a missing working directory, as docker does, and keeps it in the layer", async () => {
    const r = await sh(b, b.layers, "pwd", { cwd: "/opt/app" });
    assert.equal(r.stdout, "/opt/app\n");
    assert.deepEqual((await layerItems(b.store, r.layer!)).map((i) => i.name), ["opt", "opt/app"]);
  });

  it("gives the container no network with network: none", async () => {
    const r = await sh(b, b.layers, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", { network: "none" });
    assert.equal(r.stdout, "lo\n");
  });

  it("gives the same layer through overlayfs and through the copy fallback", async () => {
    const script = "echo a > /a; rm /etc/group; chmod 600 /etc/passwd; mkdir -p /d/e; ln -s /a /d/l";
    const viaDefault = await sh(b, b.layers, script);
    process.env.LADING_OVERLAY = "0";
    const debug: string[] = [];
    try {
      const viaCopy = await sh(b, b.layers, script, { debug: (m) => debug.push(m) });
      assert.ok(debug.some((m) => m.startsWith("rootfs: copying")), debug.join("\n"));
      assert.equal(viaCopy.layer!.diffId, viaDefault.layer!.diffId);
    } finally {
      delete process.env.LADING_OVERLAY;
    }
  });

  it("says which way the root filesystem was made", async () => {
    const debug: string[] = [];
    await sh(b, b.layers, "true", { debug: (m) => debug.push(m) });
    const info = await detectRuntime({ runtime: readEnvConfig().runtime, subids: readEnvConfig().subids });
    const want = info.overlay === "none" ? "rootfs: copying" : info.overlay === "native" ? "rootfs: overlayfs as root" : "rootfs: overlayfs in a user namespace";
    assert.ok(debug.some((m) => m.startsWith(want)), debug.join("\n"));
    assert.equal(info.rootless, process.getuid!() !== 0);
  });

  it("measures the command's CPU time and says where the figures come from", async () => {
    const r = await sh(b, b.layers, "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
    const cpu = (r.metrics.cpuUserSeconds ?? 0) + (r.metrics.cpuSystemSeconds ?? 0);
    assert.ok(cpu > 0.05, `a busy loop must show CPU time, got ${JSON.stringify(r.metrics)}`);
    if (r.metrics.source === "cgroup2-psi") {
      assert.equal(typeof r.metrics.cpuPressureSomeSeconds, "number");
      assert.equal(typeof r.metrics.cpuPressureFullSeconds, "number");
    }
    if (process.getuid!() !== 0) assert.equal(r.metrics.source, "rusage");
  });

  it("gives CPU pressure with its source: the exec's own cgroup, else host-wide /proc/pressure/cpu over the exec, labelled so", async () => {
    const r = await sh(b, b.layers, "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done");
    if (r.metrics.source === "cgroup2-psi") {
      assert.equal(r.metrics.pressureSource, "cgroup");
      assert.equal(r.metrics.hostPressureSomeSeconds, undefined, "a cgroup's own pressure is not mixed with the host's");
    } else if (existsSync("/proc/pressure/cpu")) {
      assert.equal(r.metrics.pressureSource, "host", JSON.stringify(r.metrics));
      assert.equal(typeof r.metrics.hostPressureSomeSeconds, "number");
      assert.ok(r.metrics.hostPressureSomeSeconds! >= 0);
      assert.equal(r.metrics.cpuPressureSomeSeconds, undefined, "host-wide figures never pose as the exec's own");
    }
  });

  it("runs with docker's default capabilities and no_new_privileges, all of them with insecureRootCapabilities", async () => {
    const script = "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status";
    const normal = await sh(b, b.layers, script);
    const all = await sh(b, b.layers, script, { insecureRootCapabilities: true });
    // Docker's 14 default capabilities: bits 0,1,3,4,5,6,7,8,10,13,18,27,29,31 = 0xa80425fb.
    assert.match(normal.stdout, /CapEff:\s+00000000a80425fb\nNoNewPrivs:\s+1\n/);
    assert.match(all.stdout, /NoNewPrivs:\s+0/);
    assert.ok(BigInt("0x" + /CapEff:\s+(\w+)/.exec(all.stdout)![1]) > 0xa80425fbn);
  });

  it("refuses an unknown runtime by name", async () => {
    await assert.rejects(sh(b, b.layers, "true", { runtime: "nope" as "runc" }), (e: LadingError) => e.code === "INVALID_ARGUMENT");
  });
});

/** The regular files under `dir` whose bytes contain `text` (snapshots and blobs included). */
