import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));

test('`import { connect } from "lading"` resolves in the repo, and `npx lading --version` answers quickly', async () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", 'import { connect, Container, ExecError } from "lading"; console.log(typeof connect, typeof Container, typeof ExecError)'], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "function function function");
  const v = spawnSync("npx", ["--no-install", "lading", "--version"], { cwd: root, encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});
