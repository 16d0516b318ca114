// Services (issue 14): containers that keep running, reached by hostname on
// a session network lading makes in namespaces of its own — as root and, in
// CI, again as an unprivileged user. Everything runs on busybox (httpd, wget,
// nc); traffic stays on loopback and inside those namespaces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type Client, type Container, type ProgressEvent } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { pidsWith, until } from "../helpers/procs.js";
import { flattenSpans, type OtlpRequest } from "../helpers/otlp-receiver.js";

const t = tempDir("lading-services-");
let busybox: TestImage;
let client: Client;
const events: ProgressEvent[] = [];

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store"), log: (e) => events.push(e) });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

const bb = (): Container => client.container().from(busybox.ref);

/** An httpd service on `port` serving `body` at /index.html, then running `loop` (sh) forever. */
function web(body: string, port = 8080, loop = "sleep 1000"): Container {
  return bb()
    .withExposedPort(port)
    .withExec(["sh", "-c", `mkdir -p /www && echo ${body} > /www/index.html && httpd -p ${port} -h /www && ${loop}`]);
}



test("the circular example: svca and svcb serve and fetch each other by global hostname, in either start order", async () => {
  // Each serves its letter and keeps fetching the other's into peer.txt, which it serves too.
  const loop = (peer: string) => `while true; do wget -q -O /www/peer.tmp http://${peer}:8080/index.html && mv /www/peer.tmp /www/peer.txt; sleep 0.2; done`;
  const svca = web("a", 8080, loop("svcb")).asService().withHostname("svca");
  const svcb = web("b", 8080, loop("svca")).asService().withHostname("svcb");
  for (const order of [[svca, svcb], [svcb, svca]] as const) {
    await order[0].start();
    await order[1].start();
    // The client binds only svca (as "x"); svcb it reaches by svcb's global name, short and long.
    const out = await bb()
      .withServiceBinding("x", svca)
      .withExec(["sh", "-c", "long=$(grep -o 'svcb[.][^ ]*lading.local' /etc/hosts); for i in $(seq 100); do a=$(wget -q -O- http://x:8080/peer.txt) && b=$(wget -q -O- http://svcb:8080/peer.txt) && c=$(wget -q -O- http://$long:8080/index.html) && echo \"$a$b$c\" && exit 0; sleep 0.2; done; exit 1"], { noCache: true })
      .stdout();
    assert.equal(out.trim(), "bab", "svca fetched b from svcb, svcb fetched a from svca, and svcb.<session>.lading.local is svcb");
    const host = await svca.hostname();
    assert.equal(host, "svca");
    await svca.stop({ kill: true });
    await svcb.stop({ kill: true });
  }
});

test("a binding's alias resolves only in the bound container; the exec's result is cached by the service's definition", async () => {
  const svc = web("hello", 8081).asService();
  const fetchIt = bb().withServiceBinding("www", svc).withExec(["sh", "-c", "wget -q -O- http://www:8081/index.html; date +%s%N"]);
  const first = await fetchIt.stdout();
  assert.match(first, /^hello\n/);
  // The implicit start ended with the exec: nothing uses it any more.
  const hostname = await svc.hostname();
  assert.match(hostname, /^svc-[0-9a-f]{12}$/);
  // The same definition again (a new value): a cache hit, the service is not started.
  const starts = events.filter((e) => e.type === "step" && e.name === `start service ${hostname}` && e.status === "done").length;
  const again = await bb().withServiceBinding("www", web("hello", 8081).asService()).withExec(["sh", "-c", "wget -q -O- http://www:8081/index.html; date +%s%N"]).stdout();
  assert.equal(again, first, "cached by definition");
  assert.equal(events.filter((e) => e.type === "step" && e.name === `start service ${hostname}` && e.status === "done").length, starts);
  // Another container, bound to something else, does not resolve "www".
  const other = await bb()
    .withServiceBinding("elsewhere", svc)
    .withExec(["sh", "-c", "grep -w www /etc/hosts; wget -q -T 2 -O- http://www:8081/index.html; echo code=$?"], { noCache: true })
    .stdout();
  assert.match(other, /code=[1-9]/);
  assert.doesNotMatch(other, /hello/);
});

test("a bound exec sees its hostname and the live hosts file, and none of the runtime's /etc files reaches its layer", async () => {
  const svc = web("etc", 8082).asService();
  // Writes to the runtime's files are the container's own business: docker's bind mounts keep them out of the image too.
  const ran = bb()
    .withServiceBinding("www", svc)
    .withExec(["sh", "-c", "hostname > /seen; grep -cw www /etc/hosts >> /seen; echo written >> /etc/hosts; echo other > /etc/hostname; echo x > /etc/own"], { noCache: true });
  assert.equal(await ran.file("/seen").contents(), "lading\n1\n");
  assert.deepEqual(await ran.directory("/etc").entries(), ["group", "own", "passwd"], "only the command's own file joins the image's /etc");
});

test("endpoint() and up() are reached from the host with fetch; a host service is reached from a container", async () => {
  const svc = web("from-the-service", 8082).asService().withHostname("ep");
  const url = await svc.endpoint({ scheme: "http" });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await (await fetch(url + "/index.html")).text(), "from-the-service\n");
  assert.match(await svc.endpoint(), /^127\.0\.0\.1:\d+$/);
  const [fwd] = await svc.up({ random: true });
  assert.equal(fwd!.backend, 8082);
  assert.equal(await (await fetch(`http://127.0.0.1:${fwd!.frontend}/index.html`)).text(), "from-the-service\n");
  assert.deepEqual(await svc.ports(), [{ port: 8082, protocol: "TCP" }]);
  await svc.stop();
  await assert.rejects(fetch(`http://127.0.0.1:${fwd!.frontend}/index.html`));

  const server: Server = createServer((req, res) => res.end(`host says ${req.url}`));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as { port: number }).port;
    const out = await bb()
      .withServiceBinding("api", client.host().service([{ frontend: 80, backend: port }]))
      .withExec(["sh", "-c", "wget -q -O- http://api/ping"])
      .stdout();
    assert.equal(out, "host says /ping");
  } finally {
    server.close();
  }
});

test("a service that never opens its port fails with a timeout and its output; one that exits early, with its exit code", async () => {
  const silent = bb().withExposedPort(9000).withExec(["sh", "-c", "echo waiting-for-nothing; sleep 1000"]).asService({ timeout: 1.5 });
  await assert.rejects(silent.start(), (e: unknown) => {
    assert.ok(e instanceof LadingError);
    assert.equal(e.code, "SERVICE");
    assert.match(e.message, /9000 did not accept a connection within 1\.5 s/);
    assert.match(e.message, /waiting-for-nothing/);
    return true;
  });
  await until("the timed-out service's processes are gone", () => pidsWith("waiting-for-nothing").length === 0);
  const early = bb().withExposedPort(9001).withExec(["sh", "-c", "echo giving-up >&2; exit 7"]).asService();
  await assert.rejects(bb().withServiceBinding("e", early).withExec(["true"]).sync(), (e: unknown) => {
    assert.ok(e instanceof LadingError);
    assert.equal(e.code, "SERVICE");
    assert.match(e.message, /exited with code 7/);
    assert.match(e.message, /giving-up/);
    return true;
  });
});

test("five services start concurrently, each at its own address, and all stop", async () => {
  const svcs = [1, 2, 3, 4, 5].map((i) => web(`five-${i}`, 8090 + i, `sleep 1001`).asService().withHostname(`five${i}`));
  await Promise.all(svcs.map((s) => s.start()));
  const out = await bb()
    .withServiceBinding("one", svcs[0]!)
    .withExec(["sh", "-c", "for i in 1 2 3 4 5; do wget -q -O- http://five$i:809$i/index.html; done"], { noCache: true })
    .stdout();
  assert.equal(out, "five-1\nfive-2\nfive-3\nfive-4\nfive-5\n");
  assert.ok(pidsWith("sleep 1001").length >= 5);
  await Promise.all(svcs.map((s) => s.stop()));
  await until("the five services' processes are gone", () => pidsWith("sleep 1001").length === 0);
});

test("service start and stop are spans in the session's trace, with the service's hostname and its output", async () => {
  const traceFile = join(t.path, "services-trace.json");
  const traced = await connect({ store: join(t.path, "store"), trace: { file: traceFile } });
  try {
    const svc = traced.container().from(busybox.ref).withExposedPort(8083)
      .withExec(["sh", "-c", "echo traced-service-says-hi; sleep 0.3; httpd -p 8083 -h / && sleep 1000"]).asService().withHostname("traced");
    await svc.start();
    // Left running: the session's close stops it, and the trace still gets that stop.
  } finally {
    await traced.close();
  }
  const spans = flattenSpans(JSON.parse(readFileSync(traceFile, "utf8")) as OtlpRequest);
  const start = spans.find((s) => s.name === "start service traced");
  const stop = spans.find((s) => s.name === "stop service traced");
  assert.ok(start && stop, `spans: ${spans.map((s) => s.name).join(" | ")}`);
  assert.equal(start.attributes["lading.service.hostname"], "traced");
  assert.equal(stop.attributes["lading.service.key"], start.attributes["lading.service.key"]);
  assert.ok(start.events.some((e) => String(e.attributes["log.text"]).includes("traced-service-says-hi")), "the service's output while it started");
});
