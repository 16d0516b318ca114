/**
 * runc, crun and podman run the same step on the same root filesystem: the
 * layers they give are byte-identical (with SOURCE_DATE_EPOCH fixing times).
 * On this project's VMs the cgroup hierarchy is hybrid, which crun refuses;
 * lading hides it from crun, so these tests also prove that path.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { findTool } from "../../src/exec/detect.js";
import type { LadingError } from "../../src/errors.js";
import { busybox, layerItems, sh, type Busybox } from "./fixture.js";

let b: Busybox;
before(async () => {
  b = await busybox();
});
after(() => b.cleanup());

const STEP = "echo hello > /greeting && chmod 640 /greeting && chown 1000:42 /greeting && mkdir -p /a/b && ln -s ../greeting /a/link && rm /etc/group && echo $(id -u) > /a/b/uid";

// Rootless, lading runs podman inside its own user namespace, where podman needs crun.
const skip = !(findTool("runc") && findTool("podman")) ? "needs runc and podman" : process.getuid!() !== 0 && !findTool("crun") ? "podman rootless needs crun (not installed)" : false;

describe("runtime backends", { skip }, () => {
  it("runc and podman give the same layer digest for the same deterministic step", async () => {
    const viaRunc = await sh(b, b.layers, STEP, { runtime: "runc" });
    const viaPodman = await sh(b, b.layers, STEP, { runtime: "podman" });
    assert.equal(viaRunc.exitCode, 0, viaRunc.stderr);
    assert.equal(viaPodman.exitCode, 0, viaPodman.stderr);
    const names = (await layerItems(b.store, viaPodman.layer!)).map((i) => i.name);
    assert.deepEqual(names, ["a", "a/b", "a/b/uid", "a/link", "etc", "etc/.wh.group", "greeting"]);
    assert.equal(viaPodman.layer!.diffId, viaRunc.layer!.diffId);
    assert.equal(viaPodman.layer!.descriptor.digest, viaRunc.layer!.descriptor.digest);
  });

  it("runc and podman let a step move /etc away, and give the same layer without their /etc files (issue 20)", async () => {
    const step = "grep -q localhost /etc/hosts && test -s /etc/hostname && mv /etc /usr/ && mkdir /etc && echo new > /etc/new";
    const viaRunc = await sh(b, b.layers, step, { runtime: "runc" });
    const viaPodman = await sh(b, b.layers, step, { runtime: "podman" });
    assert.equal(viaRunc.exitCode, 0, viaRunc.stderr);
    assert.equal(viaPodman.exitCode, 0, viaPodman.stderr);
    const names = (await layerItems(b.store, viaPodman.layer!)).map((i) => i.name);
    // The image's /etc (passwd, group) moved; the runtime's hosts, hostname and resolv.conf did not come along.
    assert.deepEqual(names, ["etc", "etc/.wh..wh..opq", "etc/new", "usr", "usr/etc", "usr/etc/group", "usr/etc/passwd"]);
    assert.equal(viaPodman.layer!.descriptor.digest, viaRunc.layer!.descriptor.digest);
  });

  it("podman reports the command's exit code and output", async () => {
    const r = await sh(b, b.layers, "echo out; echo err >&2; exit 7", { runtime: "podman" });
    assert.deepEqual([r.exitCode, r.stdout, r.stderr], [7, "out\n", "err\n"]);
  });
});

describe("podman backend without crun, rootless", { skip: (process.getuid!() === 0 || !findTool("podman") || !!findTool("crun")) && "only rootless with podman and without crun" }, () => {
  it("says what is missing and what to do", async () => {
    await assert.rejects(sh(b, b.layers, "true", { runtime: "podman" }), (e: LadingError) => e.code === "UNSUPPORTED" && /crun/.test(e.message) && /--runtime runc/.test(e.message));
  });
});

describe("crun backend", { skip: !(findTool("runc") && findTool("crun")) && "needs runc and crun" }, () => {
  it("gives the same layer digest, exit code and output as runc for the same step", async () => {
    const viaRunc = await sh(b, b.layers, `${STEP}; echo out; echo err >&2; exit 3`, { runtime: "runc" });
    const viaCrun = await sh(b, b.layers, `${STEP}; echo out; echo err >&2; exit 3`, { runtime: "crun" });
    assert.deepEqual([viaCrun.exitCode, viaCrun.stdout, viaCrun.stderr], [3, "out\n", "err\n"]);
    assert.deepEqual([viaRunc.exitCode, viaRunc.stdout, viaRunc.stderr], [3, "out\n", "err\n"]);
    assert.equal(viaCrun.layer!.descriptor.digest, viaRunc.layer!.descriptor.digest);
    assert.ok(viaCrun.metrics.cpuUserSeconds !== undefined, "CPU figures are measured under crun too");
  });
});
