// Git sources in traces (issue 16): against the real git server with basic
// auth, a tree read from an authenticated URL — and, in a fresh store, from
// the user's credential helper — shows its ls-remote and each fetch (the
// repository's and its submodule's) as spans under the git step, with the
// URL, ref, commit and how it was fetched; a commit the mirror holds is not
// fetched again (no fetch span); and the password appears nowhere, neither
// in the OTLP payloads nor in the trace file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type ClientGitOpts } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startGitServer, type GitServer } from "../helpers/git-server.js";
import { makeAppRepos, type AppRepos } from "../helpers/git-fixtures.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.js";

const USER = "alice";
const PASS = "pw-0b7e41c9-git-trace-do-not-leak";

const t = tempDir("lading-git-trace-");
let server: GitServer;
let repos: AppRepos;
const saved = { ...process.env };

before(async () => {
  server = await startGitServer({ users: [{ user: USER, pass: PASS }] });
  repos = makeAppRepos(server, t.path);
  // No credential helper of the machine's, unless a test sets one.
  const gitconfig = join(t.path, "gitconfig");
  writeFileSync(gitconfig, "");
  process.env.GIT_CONFIG_GLOBAL = gitconfig;
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  for (const k of Object.keys(process.env)) if (k.startsWith("OTEL_") || k === "TRACEPARENT" || k === "TRACESTATE") delete process.env[k];
});
after(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  await server?.stop();
  t.cleanup();
});

/** Reads the tree of `address`'s main branch in a session traced to `receiver` and to `file`: the spans it sent, and the error if the read failed. */
async function tracedRead(receiver: OtlpReceiver, store: string, address: string, file: string, gitOpts: ClientGitOpts = {}): Promise<{ spans: ReceivedSpan[]; error?: unknown }> {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  const before = receiver.spans().length;
  let error: unknown;
  try {
    await connect(
      async (client) => {
        const names = await client.git(address, gitOpts).branch("main").tree().entries();
        assert.ok(names.includes("README.md"), names.join());
      },
      { store, trace: { file, name: "git read" } },
    );
  } catch (err) {
    error = err;
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  }
  return { spans: receiver.spans().slice(before), ...(error ? { error } : {}) };
}

async function tracedReadOk(receiver: OtlpReceiver, store: string, address: string, file: string, gitOpts: ClientGitOpts = {}): Promise<ReceivedSpan[]> {
  const { spans, error } = await tracedRead(receiver, store, address, file, gitOpts);
  if (error) throw error;
  return spans;
}

function one(spans: ReceivedSpan[], test: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(test);
  assert.equal(found.length, 1, `one span ${what}; spans: ${spans.map((s) => s.name).join(" | ")}`);
  return found[0]!;
}

function assertNoPassword(receiver: OtlpReceiver, files: string[], pass = PASS): void {
  const basic = Buffer.from(`${USER}:${pass}`).toString("base64");
  const bytes = [...receiver.requests.map((q) => q.body), ...files.map((f) => readFileSync(f))];
  assert.ok(bytes.length > files.length, "the collector got payloads");
  for (const b of bytes) {
    assert.ok(!b.includes(pass), "no password");
    assert.ok(!b.includes(basic), "no basic-auth header value");
    assert.ok(!b.includes(`${USER}:`), "no user:password pair");
  }
}

test("a git source read with credentials in its URL: ls-remote and the fetches of the repository and its submodule are spans under the git step, with URL, ref and commit; nothing fetched the second time; no password anywhere", async () => {
  const receiver = await startOtlpReceiver();
  try {
    const store = join(t.path, "store-url");
    const address = `http://${USER}:${encodeURIComponent(PASS)}@${server.host}/git/app.git`;
    const html = join(t.path, "first.html");
    const spans = await tracedReadOk(receiver, store, address, html);

    const step = one(spans, (s) => s.name.startsWith(`git ${repos.url}#main (`), "for the git step");
    assert.equal(step.attributes["lading.git.url"], repos.url, "the URL without its credentials");
    assert.equal(step.attributes["lading.git.ref"], "main");
    assert.equal(step.attributes["lading.git.commit"], repos.main);

    const listing = one(spans, (s) => s.name === `git ls-remote ${repos.url}`, "for the ref listing");
    assert.equal(listing.attributes["lading.git.url"], repos.url);
    assert.ok(Number(listing.attributes["lading.git.refs"]) >= 4, "main, release and two tags at least");

    const fetch = one(spans, (s) => s.name === `git fetch ${repos.url}`, "for the repository's fetch");
    assert.equal(fetch.parentSpanId, step.spanId, "the fetch is part of the git step");
    assert.equal(fetch.attributes["lading.git.commit"], repos.main);
    assert.equal(fetch.attributes["lading.git.ref"], "refs/heads/main");
    assert.equal(fetch.attributes["lading.git.fetch.by"], "ref");
    assert.equal(fetch.error, undefined);
    const sub = one(spans, (s) => s.name === `git fetch ${repos.subUrl}`, "for the submodule's fetch");
    assert.equal(sub.parentSpanId, step.spanId);
    assert.match(String(sub.attributes["lading.git.commit"]), /^[0-9a-f]{40}$/);
    assert.equal(sub.attributes["lading.git.fetch.by"], "commit", "a submodule is pinned by commit, fetched by its name");

    // The same commit again, in the same store: the mirror has it, so the git step has no fetch under it.
    const html2 = join(t.path, "again.html");
    const again = await tracedReadOk(receiver, store, address, html2);
    const step2 = one(again, (s) => s.name.startsWith(`git ${repos.url}#main (`), "for the git step, again");
    assert.deepEqual(again.filter((s) => s.name.startsWith("git fetch")).map((s) => s.name), [], "no fetch the second time");
    assert.equal(again.filter((s) => s.parentSpanId === step2.spanId).length, 0);

    assertNoPassword(receiver, [html, html2]);
    // The page's data is JSON that escapes "/" as "\/".
    assert.ok(readFileSync(html, "utf8").replace(/\\\//g, "/").includes(`git fetch ${repos.url}`), "the trace file holds the fetch span");
  } finally {
    await receiver.stop();
  }
});

test("a git source read through the user's credential helper: the fetch span is there, the helper's password nowhere in the payloads or the OTLP/JSON file", async () => {
  const receiver = await startOtlpReceiver();
  const gitconfig = process.env.GIT_CONFIG_GLOBAL!;
  const creds = join(t.path, "git-credentials");
  writeFileSync(creds, `http://${USER}:${encodeURIComponent(PASS)}@${server.host}\n`, { mode: 0o600 });
  execFileSync("git", ["config", "--file", gitconfig, "credential.helper", `store --file=${creds}`]);
  try {
    const json = join(t.path, "helper.json");
    const spans = await tracedReadOk(receiver, join(t.path, "store-helper"), repos.url, json);
    const fetch = one(spans, (s) => s.name === `git fetch ${repos.url}`, "for the repository's fetch");
    assert.equal(fetch.attributes["lading.git.commit"], repos.main);
    assert.equal(fetch.error, undefined);
    assertNoPassword(receiver, [json]);
  } finally {
    writeFileSync(gitconfig, "");
    await receiver.stop();
  }
});

test("with keepGitDir, the submodule update that reaches the server is a span of the git step too; the password stays out", async () => {
  const receiver = await startOtlpReceiver();
  try {
    const address = `http://${USER}:${encodeURIComponent(PASS)}@${server.host}/git/app.git`;
    const json = join(t.path, "keep.json");
    const spans = await tracedReadOk(receiver, join(t.path, "store-keep"), address, json, { keepGitDir: true });
    const step = one(spans, (s) => s.name.startsWith(`git ${repos.url}#main (`), "for the git step");
    const update = one(spans, (s) => s.name === `git submodule update ${repos.url}`, "for the submodule update");
    assert.equal(update.parentSpanId, step.spanId);
    assert.equal(update.attributes["lading.git.commit"], repos.main);
    assert.equal(update.error, undefined);
    assertNoPassword(receiver, [json]);
  } finally {
    await receiver.stop();
  }
});

test("a refused password: the read fails (AUTH), the ref listing's span carries the error, and the wrong password is nowhere in it", async () => {
  const receiver = await startOtlpReceiver();
  try {
    const wrong = "wrong-pw-5c1d9e77-do-not-leak";
    const address = `http://${USER}:${wrong}@${server.host}/git/app.git`;
    const json = join(t.path, "refused.json");
    const { spans, error } = await tracedRead(receiver, join(t.path, "store-refused"), address, json);
    assert.ok(error instanceof LadingError && error.code === "AUTH", String(error));
    const listing = one(spans, (s) => s.name === `git ls-remote ${repos.url}`, "for the ref listing");
    assert.ok(listing.error, "the listing's span has status ERROR");
    assert.ok(!listing.error.includes(wrong));
    assertNoPassword(receiver, [json], wrong);
  } finally {
    await receiver.stop();
  }
});
