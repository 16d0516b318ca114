/**
 * MAINTAINER, deprecated but taken by docker and buildah: it sets the image
 * config's author, and the build warns once.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client } from "../../src/api/client.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { ContainerfileError } from "../../src/errors.js";
import type { ImageConfig } from "../../src/oci/types.js";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-maintainer-");
let client: Client;
before(async () => {
  client = await connect({ store: join(t.path, "api-store") });
});
after(async () => {
  await client.close();
  t.cleanup();
});

function project(name: string, containerfile: string): { file: string; context: string } {
  const dir = join(t.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "a.txt"), "a\n");
  writeFileSync(join(dir, "Containerfile"), containerfile);
  return { file: join(dir, "Containerfile"), context: dir };
}

/** The image config as skopeo reads it from an OCI layout. */
function configOf(layout: string, tag: string): ImageConfig {
  return JSON.parse(run("skopeo", ["inspect", "--config", `oci:${layout}:${tag}`])) as ImageConfig;
}

test("lading build: MAINTAINER sets config.author (the last one wins), with one deprecation warning on stderr", async () => {
  const p = project("cli", 'FROM scratch AS other\nMAINTAINER Old One <old@example.com>\n\nFROM scratch\nMAINTAINER Jane Doe <jane@example.com>\nCOPY a.txt /a.txt\nMAINTAINER Jane "JD" Doe\n');
  const out = join(t.path, "cli-layout");
  const r = await lading(["build", p.context, "--store", join(t.path, "cli-store"), "--progress", "plain", "-o", `type=oci-layout,dest=${out},name=m`]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, /^warning: .*Containerfile:2: MAINTAINER is deprecated .*org\.opencontainers\.image\.authors/);
  const cfg = configOf(out, "m");
  assert.equal(cfg.author, 'Jane "JD" Doe');
  const maintainerHistory = cfg.history?.filter((h) => h.created_by?.startsWith("MAINTAINER")) ?? [];
  assert.deepEqual(maintainerHistory.map((h) => [h.created_by, h.empty_layer]), [["MAINTAINER Jane Doe <jane@example.com>", true], ['MAINTAINER Jane "JD" Doe', true]]);
});

test("buildContainerfile: onWarning hears it once; an image built FROM one with an author keeps it; no MAINTAINER, no author", async () => {
  const heard: string[] = [];
  const withAuthor = await buildContainerfile(client, { ...project("api", "FROM scratch\nMAINTAINER ${NOT_EXPANDED}\nMAINTAINER ${NOT_EXPANDED}\n"), onWarning: (m) => heard.push(m) });
  assert.equal(heard.length, 1);
  assert.match(heard[0]!, /Containerfile:2: MAINTAINER is deprecated/);
  const base = join(t.path, "api-base");
  await withAuthor.exportLayout(base, { tag: "base" });
  assert.equal(configOf(base, "base").author, "${NOT_EXPANDED}");

  const child = await buildContainerfile(client, project("api-child", `FROM oci:${base}:base\nCOPY a.txt /a.txt\n`));
  const childOut = join(t.path, "api-child-out");
  await child.exportLayout(childOut, { tag: "child" });
  assert.equal(configOf(childOut, "child").author, "${NOT_EXPANDED}");

  const plain = await buildContainerfile(client, project("api-plain", "FROM scratch\nCOPY a.txt /a.txt\n"));
  const plainOut = join(t.path, "api-plain-out");
  await plain.exportLayout(plainOut, { tag: "plain" });
  assert.equal(configOf(plainOut, "plain").author, undefined);
});

test("MAINTAINER with nothing after it is a parse error at its line", async () => {
  await assert.rejects(buildContainerfile(client, project("empty", "FROM scratch\nMAINTAINER\n")), (e: unknown) => e instanceof ContainerfileError && /Containerfile:2: MAINTAINER: requires exactly one argument/.test(e.message));
});
