/**
 * No service outlives its session: after a normal close, and after lading is
 * ended by SIGINT, SIGTERM or SIGKILL (and, harder, its net helper SIGKILLed
 * with it), no container process, network namespace (nothing holds the
 * session's or the container's), slirp4netns (the session network's way
 * out), mount namespace, or helper folder is left
 * once the next run has reaped — checked by pid and through /proc.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../../src/index.js";
import { pidAlive } from "../../src/fsutil/pid-alive.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { describePids, pidsWith, until } from "../helpers/procs.js";

const CHILD = fileURLToPath(new URL("./services-child.js", import.meta.url));
const t = tempDir("lading-services-kill-");
const store = join(t.path, "store");
let busybox: TestImage;
before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => t.cleanup());

function procs(): string[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n));
}


/** Clock ticks since boot (USER_HZ, 100 on Linux), as /proc/PID/stat gives a process's start. */
function ticksNow(): number {
  return Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);
}

function startTicks(pid: string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/**
 * Processes started by `before` (ticks) in namespace `link` ("net:[4026…]",
 * "mnt:[…]"): a namespace nothing holds is gone. The kernel reuses a freed
 * namespace's number, so a process made later (the next run's helpers) may
 * show the same link for a namespace of its own: only older ones count.
 */
function holders(kind: "net" | "mnt", link: string, before: number): number[] {
  return procs().flatMap((n) => {
    try {
      return readlinkSync(`/proc/${n}/ns/${kind}`) === link && startTicks(n) <= before ? [Number(n)] : [];
    } catch {
      return [];
    }
  });
}


async function startChild(marker: string) {
  const child = spawn(process.execPath, [CHILD, store, busybox.ref], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SERVICE_MARKER: marker } });
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  const { helperPid, outboundPid } = await new Promise<{ helperPid: number; outboundPid: number }>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!));
    });
    child.on("close", () => reject(new Error("the child ended before its service started")));
  });
  const service = pidsWith(marker);
  assert.ok(service.length > 0, "the service runs");
  assert.ok(outboundPid > 0 && pidAlive(outboundPid), "the session network has its way out (slirp4netns runs)");
  const namespaces = {
    sessionNet: readlinkSync(`/proc/${helperPid}/ns/net`),
    helperMnt: readlinkSync(`/proc/${helperPid}/ns/mnt`),
    containerNet: readlinkSync(`/proc/${service[0]}/ns/net`),
  };
  assert.notEqual(namespaces.sessionNet, readlinkSync("/proc/self/ns/net"), "the session network is a namespace of its own");
  assert.notEqual(namespaces.containerNet, namespaces.sessionNet, "the container has its own network namespace");
  return { child, exited, helperPid, outboundPid, namespaces };
}

function netDirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`lading-net-${pid}-`));
}

async function assertNothingLeft(marker: string, helperPid: number, outboundPid: number, ns: Record<string, string>, childPid: number): Promise<void> {
  const killed = ticksNow();
  // The next run: its first service reaps what is left, then everything must be gone.
  const next = await connect({ store });
  try {
    const svc = next.container().from(busybox.ref).withExposedPort(8080).withExec(["sh", "-c", "httpd -p 8080 -h / && sleep 1000"]).asService();
    await svc.start();
    await svc.stop({ kill: true });
  } finally {
    await next.close();
  }
  await until("the service's processes are gone", () => pidsWith(marker).length === 0);
  await until("the net helper is gone", () => !pidAlive(helperPid));
  await until("slirp4netns is gone", () => !pidAlive(outboundPid));
  await until("no process holds the session's network namespace", () => holders("net", ns.sessionNet!, killed).length === 0, 20, () => describePids(holders("net", ns.sessionNet!, killed)));
  await until("no process holds the container's network namespace", () => holders("net", ns.containerNet!, killed).length === 0, 20, () => describePids(holders("net", ns.containerNet!, killed)));
  await until("no process holds the helper's mount namespace (its mounts)", () => holders("mnt", ns.helperMnt!, killed).length === 0, 20, () => describePids(holders("mnt", ns.helperMnt!, killed)));
  assert.deepEqual(netDirsOf(childPid), [], "the helper's folder was removed");
}

for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
  test(`lading ended by ${signal} with a service running leaves nothing behind`, async () => {
    const marker = `svc-kill-${signal}-${process.pid}`;
    const { child, exited, helperPid, outboundPid, namespaces } = await startChild(marker);
    child.kill(signal);
    await exited;
    await assertNothingLeft(marker, helperPid, outboundPid, namespaces, child.pid!);
  });
}

test("lading and its net helper SIGKILLed together: the next run kills and removes what they left", async () => {
  const marker = `svc-kill-both-${process.pid}`;
  const { child, exited, helperPid, outboundPid, namespaces } = await startChild(marker);
  process.kill(helperPid, "SIGKILL");
  child.kill("SIGKILL");
  await exited;
  await assertNothingLeft(marker, helperPid, outboundPid, namespaces, child.pid!);
});

test("a normal close ends every service; one started by a binding ends with its exec", async () => {
  const marker = `svc-close-${process.pid}`;
  let outboundPid = 0;
  const client = await connect({ store, log: (e) => e.type === "debug" && (outboundPid = Number(/slirp4netns pid (\d+)/.exec(e.message)?.[1] ?? outboundPid)) });
  const bb = () => client.container().from(busybox.ref);
  const kept = bb().withExposedPort(8080).withExec(["sh", "-c", `httpd -p 8080 -h / && sleep 1000 # ${marker}-kept`]).asService();
  const bound = bb().withExposedPort(8080).withExec(["sh", "-c", `httpd -p 8080 -h / && sleep 1000 # ${marker}-bound`]).asService();
  await kept.start();
  let during = 0;
  await bb()
    .withServiceBinding("b", bound)
    .withExec(["sh", "-c", "wget -q -O /dev/null http://b:8080/bin/busybox"], { noCache: true })
    .sync()
    .then(() => (during = 1));
  assert.equal(during, 1);
  await until("the bound service ended with its exec", () => pidsWith(`${marker}-bound`).length === 0);
  assert.ok(pidsWith(`${marker}-kept`).length > 0, "the explicitly started one still runs");
  await client.close();
  assert.deepEqual(pidsWith(`${marker}-kept`), [], "close waited until it was gone");
  assert.ok(outboundPid > 0, "the session network had its way out");
  await until("slirp4netns is gone", () => !pidAlive(outboundPid));
  assert.deepEqual(netDirsOf(process.pid), []);
});
