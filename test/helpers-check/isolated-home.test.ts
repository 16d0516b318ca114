/**
 * The suite never reads the user's registry logins: lading in-process, the
 * lading CLI and skopeo started by the helpers look for credentials only
 * in the empty home test/helpers/isolated-home.ts makes per test process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { homedir, userInfo } from "node:os";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { lading } from "../helpers/cli.js";
import { ISOLATED_HOME } from "../helpers/isolated-home.js";
import { has } from "../helpers/tools.js";
import { authFilePaths, dockerConfigPath } from "../../src/registry/auth/credentials.js";

const base = dirname(ISOLATED_HOME);

test("lading in-process looks for credentials only in the test's own empty home", () => {
  assert.notEqual(homedir(), userInfo().homedir);
  const paths = [...authFilePaths({}), dockerConfigPath({})!];
  assert.ok(paths.length >= 2, paths.join(" "));
  for (const p of paths) assert.ok(p.startsWith(base + "/"), `${p} is outside ${base}`);
});

test("skopeo looks for credentials only in the test's own empty home", { skip: !has("skopeo") && "skopeo is not installed" }, () => {
  let stderr = "";
  try {
    execFileSync("skopeo", ["--debug", "inspect", "--raw", "--tls-verify=false", "docker://127.0.0.1:9/none"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    stderr = (err as { stderr: string }).stderr;
  }
  const looked = [...stderr.matchAll(/No credentials matching \S+ found in (\S+?)"/g)].map((m) => m[1]!);
  assert.ok(looked.length >= 3, stderr);
  for (const p of looked) assert.ok(p.startsWith(base + "/"), `skopeo read ${p}, outside ${base}`);
});

test("the lading CLI a test starts reads the docker config of that empty home", async () => {
  // A helper name only this test uses: the CLI can only have found it in the isolated home.
  const helper = `lading-test-${process.pid}`;
  mkdirSync(join(ISOLATED_HOME, ".docker"), { recursive: true });
  writeFileSync(join(ISOLATED_HOME, ".docker", "config.json"), JSON.stringify({ credsStore: helper }));
  try {
    const r = await lading(["logout", "127.0.0.1:9"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`docker-credential-${helper} could not be run`));
  } finally {
    rmSync(join(ISOLATED_HOME, ".docker"), { recursive: true });
  }
});
