/**
 * Build modules through the CLI, as a user meets them (issue 15): `lading
 * functions` prints each function's TSDoc and argument types read from the
 * TypeScript signatures; `lading call` converts kebab-case flags to typed
 * arguments (defaults, numbers, booleans, lists, literal unions, enums,
 * Directory, File, Secret, Container) and chains on what comes back
 * (export, publish, stdout, file … contents, with-exec), printing a
 * Container or Directory by digest and scalars as they are.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { lading, LADING } from "../helpers/cli.js";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { copyFixture, fixture } from "./fixtures.js";

const t = tempDir("lading-modules-cli-");
const env = { LADING_HOME: join(t.path, "store") };
let busybox: TestImage;
let registry: RegistryHandle;
let src: string;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  registry = await startRegistry();
  src = join(t.path, "app");
  mkdirSync(src);
  writeFileSync(join(src, "main.txt"), "the app\n");
  writeFileSync(join(src, "notes.md"), "# notes\n");
});
after(async () => {
  await registry?.stop();
  t.cleanup();
});

const ci = (args: string[], extra: NodeJS.ProcessEnv = {}) => lading(["call", "-m", fixture("ci"), ...args], { env: { ...env, ...extra }, cwd: t.path });

test("lading functions lists the object's functions with their TSDoc and argument types, from the custom entry and object", async () => {
  const r = await lading(["functions", "-m", fixture("ci")], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Pipeline: The pipeline of the demo app/);
  assert.match(r.stdout, /\nbuild → Container\n    Builds the app image: the sources in \/app, their listing in \/listing.txt.\n    --base Container  The base image.\n    --src Directory  The app's sources.\n/);
  assert.match(r.stdout, /--name string \(default "world"\)  Who to greet\./);
  assert.match(r.stdout, /--shout boolean \(optional\)  Upper case\./);
  assert.match(r.stdout, /--values number\[\]/);
  assert.match(r.stdout, /--mode "fast" \| "slow"\n    --level Level \("quiet" \| "loud"\) \(default Level.Quiet\)/);
  assert.match(r.stdout, /--token Secret  The secret\./);
  assert.match(r.stdout, /\nrelease → Release\n/);
  assert.ok(!/\n(constructor|channel)\b/.test(r.stdout), "fields and the constructor are not functions");
  const help = await ci(["hello", "--help"]);
  assert.equal(help.stdout, 'hello → string\n    Greets someone.\n    --name string (default "world")  Who to greet.\n    --times number (default 1)  How many times.\n    --shout boolean (optional)  Upper case.\n\n', help.stderr);
  const chained = await ci(["notes", "--text", "x", "file", "--help"]);
  assert.equal(chained.stdout, "file → File\n    A file of the directory.\n    --path string  Its path.\n\n", "help on a chained function: the type before it decides which");
});

test("scalar arguments: defaults, numbers, booleans, repeated and comma-separated lists, literal unions, enums by value or member name", async () => {
  const cases: Array<[string[], string]> = [
    [["hello"], "hello, world\n"],
    [["hello", "--name", "ada", "--times", "2", "--shout"], "HELLO, ADA\nHELLO, ADA\n"],
    [["hello", "--shout=false", "--name=bo"], "hello, bo\n"],
    [["sum", "--values", "1,2", "--values", "39"], "42\n"],
    [["pick", "--mode", "slow"], "slow/quiet\n"],
    [["pick", "--mode", "fast", "--level", "Loud"], "fast/loud\n"],
    [["pick", "--mode", "fast", "--level", "loud"], "fast/loud\n"],
    [["tags", "--version", "1.2"], "1.2\nlatest\n"],
    [["tags", "--version", "1.2", "--json"], '[\n  "1.2",\n  "latest"\n]\n'],
    [["release", "--version", "3", "title", "--prefix", "V"], "V3 (stable)\n"],
    [["--json", "release", "--version", "3"], '{\n  "channel": "stable",\n  "version": "3"\n}\n'],
    [["first-line", "--file", join(src, "notes.md")], "# notes\n"],
    [["notes", "--text", "hi", "file", "--path", "notes.txt", "contents"], "hi\n"],
  ];
  for (const [args, want] of cases) {
    const r = await ci(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, want, args.join(" "));
  }
});

test("a Container built from an image reference and a host Directory: its digest, exported tar, chained file, with-exec and publish agree", async () => {
  const build = ["build", "--base", busybox.ref, "--src", src];
  const digest = await ci(build);
  assert.equal(digest.code, 0, digest.stderr);
  assert.match(digest.stdout, /^sha256:[0-9a-f]{64}\n$/, "a final Container prints its digest");

  const tar = join(t.path, "app.tar");
  const exported = await ci([...build, "export", "--path", tar]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(exported.stdout, tar + "\n");
  const inTar = await connect(async (c) => {
    const img = c.container().from(`oci-archive:${tar}`);
    return { digest: await img.digest(), listing: await img.file("/listing.txt").contents(), main: await img.file("/app/main.txt").contents() };
  }, { store: join(t.path, "reader") });
  assert.equal(inTar.digest + "\n", digest.stdout, "the tar holds the image whose digest was printed");
  assert.equal(inTar.listing, "main.txt\nnotes.md\n");
  assert.equal(inTar.main, "the app\n");

  const listing = await ci([...build, "file", "--path", "/listing.txt", "contents"]);
  assert.equal(listing.stdout, "main.txt\nnotes.md\n", listing.stderr);
  const exec = await ci([...build, "with-exec", "--args", "sh,-c,echo $((6*7)) from $PWD", "stdout"]);
  assert.equal(exec.stdout, "42 from /app\n", exec.stderr);

  const pushed = await ci(["--insecure-registry", registry.host, ...build, "publish", "--address", `${registry.host}/modules/app:1`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.equal(pushed.stdout, `${registry.host}/modules/app:1@${digest.stdout}`);
  const dir = await ci(["notes", "--text", "x"]);
  assert.match(dir.stdout, /^sha256:[0-9a-f]{64}\n$/, "a final Directory prints its digest");
});

test("Secret arguments from env:, file: and cmd: reach the function; the value is never printed, even in debug output", async () => {
  const value = "s3cr3t-7f0a2e9d41";
  writeFileSync(join(t.path, "token"), value);
  for (const from of ["env:DEPLOY_TOKEN", `file:${join(t.path, "token")}`, `cmd:printf ${value}`]) {
    const r = await ci(["--progress", "plain", "secret-length", "--base", busybox.ref, "--token", from], { DEPLOY_TOKEN: value, LADING_DEBUG: "1" });
    assert.equal(r.code, 0, `${from}: ${r.stderr}`);
    assert.equal(r.stdout, `${value.length}\n`, from);
    assert.ok(!r.stderr.includes(value), `${from}: the value is not in stderr`);
  }
  const unset = await ci(["secret-length", "--base", busybox.ref, "--token", "env:NOT_SET_ANYWHERE"]);
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /secret-length --token: environment variable NOT_SET_ANYWHERE is not set/);
  const bad = await ci(["secret-length", "--base", busybox.ref, "--token", value]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /a secret is given as env:NAME, file:PATH or cmd:COMMAND/);
  assert.ok(!bad.stderr.includes(value), "a mistyped secret is not echoed either");
});

test("a JavaScript module of exported functions (custom .mjs entry, types from JSDoc), and the default entry and object", async () => {
  const fns = await lading(["functions", "-m", fixture("js-funcs")], { env });
  assert.equal(fns.code, 0, fns.stderr);
  assert.match(fns.stdout, /repeat → string\n    Repeats a word.\n    --word string  The word.\n    --count number \(default 2\)  How many times./);
  const r = await lading(["call", "-m", fixture("js-funcs"), "repeat", "--word", "la", "--count", "3"], { env });
  assert.equal(r.stdout, "la la la\n", r.stderr);
  const note = await lading(["call", "-m", fixture("js-funcs"), "note", "--text", "made with dag", "contents"], { env });
  assert.equal(note.stdout, "made with dag\n", note.stderr);
  const greeter = await lading(["call", "hi", "--name", "you"], { env, cwd: fixture("greeter") });
  assert.equal(greeter.stdout, "hi you\n", greeter.stderr);
});

test("the transpiled entry is cached by content: an unchanged module is not transpiled again, an edited one is", async () => {
  const mod = copyFixture("greeter", join(t.path, "greeter-copy"));
  const store = join(t.path, "cache-store");
  const codeFiles = () => readdirSync(join(store, "lading", "modules", "code")).filter((f) => f.endsWith(".mjs"));
  const first = await lading(["call", "--store", store, "-m", mod, "hi", "--name", "a"], { env });
  assert.equal(first.stdout, "hi a\n", first.stderr);
  const records = readdirSync(join(store, "lading", "modules", "entries"));
  const record = join(store, "lading", "modules", "entries", records[0]!);
  const made = statSync(record);
  await lading(["call", "--store", store, "-m", mod, "hi", "--name", "b"], { env });
  assert.deepEqual(codeFiles().length, 1);
  // Rebuilding writes a new file and renames it over the record: a new inode, even with the same bytes
  // (its mtime moves on every use: it is the record's last use, for the store's collector).
  assert.equal(statSync(record).ino, made.ino, "the record was not rebuilt");
  writeFileSync(join(mod, "src", "index.ts"), readFileSync(join(mod, "src", "index.ts"), "utf8").replace("`hi ${name}`", "`hello ${name}`"));
  const edited = await lading(["call", "--store", store, "-m", mod, "hi", "--name", "c"], { env });
  assert.equal(edited.stdout, "hello c\n", edited.stderr);
  assert.equal(codeFiles().length, 2);
});

test("--trace-file on call writes the call's trace: the command's span and the module's loading", async () => {
  const file = join(t.path, "call-trace.json");
  const traced = await lading(["call", "--trace-file", file, "-m", fixture("ci"), "build", "--base", busybox.ref, "--src", src], { env });
  assert.equal(traced.code, 0, traced.stderr);
  assert.ok(existsSync(file));
  const names = JSON.stringify(JSON.parse(readFileSync(file, "utf8")));
  assert.match(names, /"lading call"/);
  assert.match(names, /"load module [^"]*ci"/);
});

test("services: a returned Container chains into as-service up (reached from here until Ctrl-C), and a Service argument is a port of this machine", async () => {
  // A port of this machine, given as tcp://localhost:PORT, reached by a container of the function.
  const server = createServer((_req, res) => res.end("from the host\n"));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const hostPort = (server.address() as AddressInfo).port;
  try {
    const fetched = await lading(["call", "-m", fixture("web"), "fetch", "--base", busybox.ref, "--backend", `tcp://localhost:${hostPort}`, "--port", String(hostPort)], { env, cwd: t.path });
    assert.equal(fetched.stdout, "from the host\n", fetched.stderr);
  } finally {
    server.close();
  }
  const bad = await lading(["call", "-m", fixture("web"), "fetch", "--base", busybox.ref, "--backend", "db:5432"], { env, cwd: t.path });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /a service is given as tcp:\/\/localhost:PORT/);

  // The page the module builds, served until Ctrl-C.
  const port = await freePort();
  const child = spawn(process.execPath, [LADING, "call", "-m", fixture("web"), "page", "--base", busybox.ref, "--body", "served", "as-service", "up", "--ports", `${port}:80`], { env: { ...process.env, ...env }, cwd: t.path, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (c) => (stderr += c));
  child.stdout.on("data", (c) => (stdout += c));
  const exited = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
  try {
    for (let i = 0; i < 600 && !stderr.includes("press Ctrl-C"); i++) await sleep(100);
    assert.match(stderr, new RegExp(`forwarding 127\\.0\\.0\\.1:${port} -> 80`));
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "served\n");
  } finally {
    child.kill("SIGINT");
  }
  assert.equal(await exited, 0, stderr);
  assert.equal(stdout, `127.0.0.1:${port} -> 80\n`);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`), "the forward ends with the call");
});

/** A port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const p = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return p;
}
