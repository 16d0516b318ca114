/**
 * NODE_EXTRA_CA_CERTS as a user of `lading` relies on it: a registry whose
 * certificate is signed by the CA that variable names is trusted, one signed
 * by another CA is refused with a clear error, and the processes lading
 * starts (here a credential helper) still see the variable, though the
 * launcher (bin/lading.js) keeps node from loading it at start.
 *
 * Certificates are verified only for registries that are not on loopback, so
 * the registry and lading run in a network namespace of the test's own, at
 * an address on that namespace's loopback device.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import bcrypt from "bcryptjs";
import { LADING } from "../helpers/cli.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { makeTls } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { has } from "../helpers/tools.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-cli-extra-ca-");
after(t.cleanup);
const ADDR = "10.213.7.1";
const HOST = `${ADDR}:5443`;
const asRoot = process.getuid?.() === 0;
const unshareArgs = asRoot ? ["--net"] : ["--map-root-user", "--net"];

function netnsSkip(): string | false {
  if (!has("unshare") || !has("ip") || !has("docker-registry") || !has("openssl")) return "needs unshare, ip, openssl and docker-registry";
  if (spawnSync("unshare", [...unshareArgs, "true"]).status !== 0) return "cannot make a network namespace here (not root, and no unprivileged user namespaces)";
  return false;
}

/** Runs `script` with bash in a new network namespace; its own process group, ended by PID if it outlives `ms`. */
function inNetns(script: string, env: NodeJS.ProcessEnv, ms = 120_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", [...unshareArgs, "--", "bash", "-c", script], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), ms);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test("a registry signed by the CA in NODE_EXTRA_CA_CERTS is trusted; another CA's is refused; a credential helper still sees the variable", { skip: netnsSkip() }, async () => {
  const dir = t.path;
  const [tlsDir, otherDir] = [join(dir, "tls"), join(dir, "other-tls")];
  mkdirSync(tlsDir);
  mkdirSync(otherDir);
  const tls = makeTls(tlsDir, ADDR);
  const other = makeTls(otherDir, ADDR);
  const data = join(dir, "registry-data");
  writeFileSync(join(dir, "htpasswd"), `alice:${bcrypt.hashSync("wonderland", 4)}\n`);
  writeFileSync(
    join(dir, "registry.yml"),
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${data}`,
      "http:",
      `  addr: ${HOST}`,
      `  tls:`,
      `    certificate: ${tls.cert}`,
      `    key: ${tls.key}`,
      "auth:",
      "  htpasswd:",
      "    realm: lading-test",
      `    path: ${join(dir, "htpasswd")}`,
      "",
    ].join("\n"),
  );
  // The registry asks for credentials, so lading asks this helper (the get protocol), which notes what it was given.
  const helpers = join(dir, "helpers");
  mkdirSync(helpers);
  const helper = join(helpers, "docker-credential-envdump");
  writeFileSync(
    helper,
    '#!/bin/sh\nread -r server\nprintf "%s\\n" "${NODE_EXTRA_CA_CERTS-unset}" >> "$ENVDUMP"\nprintf \'{"ServerURL":"%s","Username":"alice","Secret":"wonderland"}\\n\' "$server"\n',
  );
  chmodSync(helper, 0o755);
  const u = userEnv(join(dir, "user"));
  mkdirSync(u.dockerConfig, { recursive: true });
  writeFileSync(join(u.dockerConfig, "config.json"), JSON.stringify({ credHelpers: { [HOST]: "envdump" } }));
  const image = await makeBusyboxLayout(join(dir, "image"), "latest");
  const out = join(dir, "out");
  mkdirSync(out);

  const push = (name: string, ca: string) =>
    `NODE_EXTRA_CA_CERTS=${ca} "$LADING" push --progress quiet oci:${image.dir}:latest ${HOST}/team/${name}:1 >${out}/${name}.out 2>${out}/${name}.err; echo $? >${out}/${name}.code`;
  const script = [
    "set -e",
    "ip link set lo up",
    `ip addr add ${ADDR}/32 dev lo`,
    `docker-registry serve ${join(dir, "registry.yml")} >${out}/registry.log 2>&1 &`,
    "reg=$!",
    "trap 'kill $reg; wait $reg' EXIT",
    `for i in $(seq 200); do (exec 3<>/dev/tcp/${ADDR}/5443) 2>/dev/null && break; kill -0 $reg; sleep 0.05; done`,
    "set +e",
    push("trusted", tls.ca),
    push("other", other.ca),
  ].join("\n");
  const env = {
    ...process.env,
    ...u.env,
    LADING,
    ENVDUMP: join(out, "helper-env"),
    PATH: `${helpers}:${dirname(process.execPath)}:${process.env.PATH}`,
  };
  const r = await inNetns(script, env);
  assert.equal(r.code, 0, r.output);
  const read = (f: string) => readFileSync(join(out, f), "utf8");

  assert.equal(read("trusted.code"), "0\n", read("trusted.err"));
  assert.equal(read("trusted.out"), `${HOST}/team/trusted:1@${image.manifestDigest}\n`);

  assert.equal(read("other.code"), "1\n", read("other.err"));
  assert.match(read("other.err"), new RegExp(`TLS to ${HOST.replace(/\./g, "\\.")} failed \\(\\w+\\).*NODE_EXTRA_CA_CERTS`));
  assert.doesNotMatch(read("other.err"), /\n\s+at /);

  // The trusted push asked the helper once at least; it saw the variable as the user set it.
  const seen = new Set(read("helper-env").trim().split("\n"));
  assert.deepEqual([...seen], [tls.ca]);
});
