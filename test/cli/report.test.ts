// What the CLI prints and returns for a failure: the exit code table, the cause chain, hints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExecError, LadingError } from "../../src/index.js";
import { reportError } from "../../src/cli/report.js";
import { UsageError } from "../../src/cli/io.js";

function report(err: unknown): { code: number; text: string } {
  let text = "";
  const code = reportError(err, { write: (s: string) => (text += s) }, false);
  return { code, text };
}

test("exit codes follow the error code: usage 2, interrupted 130, every other failure 1", () => {
  assert.equal(report(new LadingError("INVALID_ARGUMENT", "bad flag")).code, 2);
  assert.equal(report(new UsageError("--build-arg expects KEY=VALUE")).code, 2);
  assert.equal(report(new LadingError("CANCELLED", "interrupted")).code, 130);
  for (const c of ["NOT_FOUND", "AUTH", "EXEC_FAILED", "STORE_CORRUPT", "INTERNAL"] as const) assert.equal(report(new LadingError(c, "x")).code, 1, c);
  assert.equal(report(new Error("plain")).code, 1);
});

test("the cause chain is printed, outermost first, without repeating what a message already says", () => {
  const root = new Error("connect ECONNREFUSED 127.0.0.1:5000");
  const mid = new LadingError("NETWORK", "HEAD http://127.0.0.1:5000/v2/x/manifests/1 failed", { cause: root });
  const top = new LadingError("NETWORK", "pulling 127.0.0.1:5000/x:1", { cause: mid });
  const { text } = report(top);
  assert.equal(text, "lading: pulling 127.0.0.1:5000/x:1\n  caused by: HEAD http://127.0.0.1:5000/v2/x/manifests/1 failed\n  caused by: connect ECONNREFUSED 127.0.0.1:5000\n");
  const located = new LadingError("NOT_FOUND", "Containerfile:3: COPY: a.txt not found", { cause: new LadingError("NOT_FOUND", "COPY: a.txt not found") });
  assert.equal(report(located).text, "lading: Containerfile:3: COPY: a.txt not found\n");
});

test("a failed command shows what ran and its exit code; some codes say what to do", () => {
  const { text } = report(new ExecError(["sh", "-c", "exit 3"], 3, "", "boom\n", "Containerfile:4: RUN exit 3"));
  assert.match(text, /^lading: Containerfile:4: RUN exit 3: process \["sh","-c","exit 3"\] did not complete successfully: exit code: 3\nboom\n/);
  assert.match(text, /^  command: \["sh","-c","exit 3"\]\n  exit code: 3$/m);
  assert.match(report(new LadingError("AUTH", "401 from 127.0.0.1:5000")).text, /^  hint: log in with `lading login/m);
  assert.match(report(new LadingError("STORE_CORRUPT", "the store has 2 problem(s)")).text, /hint: run `lading fsck --repair`/);
});
