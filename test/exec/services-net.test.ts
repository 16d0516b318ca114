// The session network beyond bindings (issue 14): while a service runs,
// every exec of the session joins the session network, so a plain
// withExec resolves and reaches global hostnames (as in Dagger, where every
// container is on the engine's network); and the session network has a way
// out through slirp4netns, tested only against a server on the host's
// 127.0.0.1, which slirp4netns maps at 10.0.2.2. As root and, in CI,
// again as an unprivileged user.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client, type Container, type ProgressEvent } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { until } from "../helpers/procs.js";

const t = tempDir("lading-svcnet-");
let busybox: TestImage;
let client: Client;
const events: ProgressEvent[] = [];
/** A server on the host's loopback only: what containers reach through 10.0.2.2. */
let host: Server;
let hostPort = 0;
const hostRequests: string[] = [];

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store"), log: (e) => events.push(e) });
  host = createServer((req, res) => {
    hostRequests.push(req.url!);
    res.end(`host-loopback says ${req.url}`);
  });
  await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
  hostPort = (host.address() as { port: number }).port;
});
after(async () => {
  await client?.close();
  await new Promise<void>((r) => host.close(() => r()));
  t.cleanup();
});

const bb = (c: Client = client): Container => c.container().from(busybox.ref);
const HOST_NETNS = readlinkSync("/proc/self/ns/net");

/** An httpd service on `port` serving `body` at /index.html. */
function web(c: Client, body: string, port: number, tail = "sleep 1000"): Container {
  return bb(c)
    .withExposedPort(port)
    .withExec(["sh", "-c", `mkdir -p /www && echo ${body} > /www/index.html && httpd -p ${port} -h /www && ${tail}`]);
}

test("without a running service, a plain exec keeps the host's network (the fast path)", async () => {
  const out = await bb().withExec(["readlink", "/proc/self/ns/net"], { noCache: true }).stdout();
  assert.equal(out.trim(), HOST_NETNS);
  assert.ok(!events.some((e) => e.type === "debug" && e.message.includes("session network up")), "no session network was made");
});

test("while a service runs, a plain exec (no binding) resolves global hostnames and fetches from them, also one started after it began", async () => {
  // Its cache key is the same either way: run once before any service, then again while one runs.
  const plain = bb().withExec(["sh", "-c", "echo cached-by-definition; date +%s%N"]);
  const before = await plain.stdout();

  const early = web(client, "early-body", 8184).asService().withHostname("early");
  const late = web(client, "late-body", 8185).asService().withHostname("late");
  await early.start();
  try {
    assert.equal(await bb().withExec(["sh", "-c", "echo cached-by-definition; date +%s%N"]).stdout(), before, "a running service does not change a plain exec's cache key");
    const script = [
      "readlink /proc/self/ns/net",
      "wget -q -O- http://early:8184/index.html",
      "echo waiting-for-late >&2",
      // "late" starts only once this exec runs: its name must show up in this container's /etc/hosts.
      "for i in $(seq 300); do wget -q -O- http://late:8185/index.html 2>/dev/null && exit 0; sleep 0.1; done; exit 1",
    ].join("; ");
    const run = bb().withExec(["sh", "-c", script], { noCache: true }).stdout();
    await until("the plain exec runs", () => events.some((e) => e.type === "log" && e.text.includes("waiting-for-late")), 60);
    await late.start();
    const out = (await run).split("\n");
    assert.notEqual(out[0], HOST_NETNS, "the exec ran in a network namespace of the session");
    assert.deepEqual(out.slice(1), ["early-body", "late-body", ""]);
  } finally {
    await early.stop({ kill: true });
    await late.stop({ kill: true });
  }
  // Nothing runs any more: back on the host's network.
  assert.equal((await bb().withExec(["readlink", "/proc/self/ns/net"], { noCache: true }).stdout()).trim(), HOST_NETNS);
});

test("the session network has a way out: a service and a plain exec reach the host's 127.0.0.1 through slirp4netns (10.0.2.2)", async () => {
  // The service fetches from the host once it runs, and serves what it got.
  const svc = bb()
    .withExposedPort(8186)
    .withExec(["sh", "-c", `mkdir -p /www && wget -q -O /www/got.txt http://10.0.2.2:${hostPort}/from-service && httpd -p 8186 -h /www && sleep 1000`])
    .asService()
    .withHostname("outbound");
  await svc.start();
  try {
    const out = await bb()
      .withExec(["sh", "-c", `wget -q -O- http://outbound:8186/got.txt; echo; wget -q -O- http://host.lading.internal:${hostPort}/from-exec; echo; grep nameserver /etc/resolv.conf`], { noCache: true })
      .stdout();
    assert.deepEqual(out.split("\n"), [`host-loopback says /from-service`, `host-loopback says /from-exec`, "nameserver 10.0.2.3", ""]);
    assert.ok(hostRequests.includes("/from-service") && hostRequests.includes("/from-exec"));
  } finally {
    await svc.stop({ kill: true });
  }
});

test("serviceOutbound: false closes the session network: a plain exec still sees the services, but nothing outside", async () => {
  await assert.rejects(connect({ store: join(t.path, "store"), serviceOutbound: "no" as unknown as boolean }), /invalid serviceOutbound "no"/);
  const closed = await connect({ store: join(t.path, "store"), serviceOutbound: false });
  try {
    const svc = web(closed, "inside-only", 8187).asService().withHostname("inside");
    await svc.start();
    const out = await bb(closed)
      .withExec(["sh", "-c", `wget -q -O- http://inside:8187/index.html; wget -q -T 3 -O- http://10.0.2.2:${hostPort}/must-not-arrive; echo code=$?; cat /etc/resolv.conf`], { noCache: true })
      .stdout();
    assert.match(out, /^inside-only\n/);
    assert.match(out, /code=[1-9]/);
    assert.doesNotMatch(out, /nameserver/);
    assert.ok(!hostRequests.includes("/must-not-arrive"));
  } finally {
    await closed.close();
  }
});
