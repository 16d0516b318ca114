/**
 * The good corpus, end to end: each fixtures/containerfiles/ok/<name> is
 * built through the public API, exported as an OCI layout, unpacked with
 * umoci, and its files (content, mode, owner) and image config compared
 * with expect.json. Entries with `"needsExec": true` have RUN steps and are
 * skipped, with the reason printed, where runc is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";
import { execUnavailable } from "./exec-probe.js";
import { makeBusyboxLayout } from "../helpers/images.js";

const OK = fileURLToPath(new URL("../../../fixtures/containerfiles/ok/", import.meta.url));

interface FileExpect {
  content?: string;
  mode?: string;
  uid?: number;
  gid?: number;
  absent?: boolean;
  /** The entry is a symbolic link to this target. */
  link?: string;
  /** What the entry itself is (a link is not followed). */
  type?: "file" | "dir";
}
interface Expect {
  buildArgs?: Record<string, string>;
  target?: string;
  platform?: string;
  needsExec?: boolean;
  /** Build with BASE set to a local busybox image (RUN steps imply it). */
  needsBase?: boolean;
  config?: Record<string, unknown>;
  /** The image config's top-level author (MAINTAINER). */
  author?: string;
  absentEnv?: string[];
  /** Secret id → value, for RUN --mount=type=secret. */
  secrets?: Record<string, string>;
  files?: Record<string, FileExpect>;
}

const names = readdirSync(OK).sort();

/** One busybox base for every entry that needs it (each entry still builds in a fresh store of its own). */
const shared = tempDir();
let base: string;
before(async () => {
  base = (await makeBusyboxLayout(join(shared.path, "base"))).ref;
});
after(() => shared.cleanup());

const noExec = names.some((n) => JSON.parse(readFileSync(join(OK, n, "expect.json"), "utf8")).needsExec) ? await execUnavailable() : undefined;

test("the good corpus has at least 25 entries", () => {
  assert.ok(names.length >= 25, `${names.length} entries`);
});

for (const name of names) {
  const dir = join(OK, name);
  const want = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8")) as Expect;
  const skip = want.needsExec && noExec ? `needs RUN: ${noExec}` : false;
  if (skip) console.log(`skipping ok/${name}: ${skip}`);
  test(`ok/${name} builds into the expected image`, { skip }, async () => {
    const { connect } = await import("../../src/api/client.js");
    const { buildContainerfile } = await import("../../src/frontends/containerfile/index.js");
    const tmp = tempDir();
    const client = await connect({ store: join(tmp.path, "store") });
    try {
      const buildArgs = { ...want.buildArgs };
      if (want.needsExec || want.needsBase) buildArgs.BASE = base;
      const c = await buildContainerfile(client, {
        file: join(dir, "Containerfile"),
        // git keeps no empty folders: an entry whose context is empty has none in a fresh clone.
        context: existsSync(join(dir, "context")) ? join(dir, "context") : mkdtempSync(join(tmp.path, "ctx-")),
        buildArgs,
        target: want.target,
        platform: want.platform,
        secrets: Object.fromEntries(Object.entries(want.secrets ?? {}).map(([id, v]) => [id, client.setSecret(id, v)])),
      });
      const cfg = (await c.imageConfig()) as Record<string, unknown>;
      for (const [k, v] of Object.entries(want.config ?? {})) {
        assert.deepEqual(cfg[k] ?? null, v, `config ${k}`);
      }
      for (const n of want.absentEnv ?? []) {
        assert.ok(!((cfg.Env as string[] | undefined) ?? []).some((e) => e.startsWith(n + "=")), `build arg ${n} must not be in the image env`);
      }
      if (want.platform) assert.equal(await c.platform(), want.platform);
      if (!want.files && want.author === undefined) return;
      const layout = join(tmp.path, "layout");
      await c.exportLayout(layout, { tag: "t" });
      if (want.author !== undefined) assert.equal((JSON.parse(run("skopeo", ["inspect", "--config", `oci:${layout}:t`])) as { author?: string }).author, want.author, "config author");
      if (!want.files) return;
      const bundle = join(tmp.path, "bundle");
      const rootless = process.getuid?.() !== 0;
      run("umoci", ["unpack", ...(rootless ? ["--rootless"] : []), "--image", `${layout}:t`, bundle]);
      for (const [p, f] of Object.entries(want.files)) {
        const full = join(bundle, "rootfs", p);
        if (f.absent) {
          assert.ok(!existsSync(full), `${p} must not exist`);
          continue;
        }
        const st = lstatSync(full);
        if (f.link !== undefined) {
          assert.ok(st.isSymbolicLink(), `${p} must be a symlink`);
          assert.equal(readlinkSync(full), f.link, `${p} link target`);
          continue;
        }
        if (f.type !== undefined) assert.equal(st.isFile() ? "file" : st.isDirectory() ? "dir" : "other", f.type, `${p} type`);
        if (f.content !== undefined) assert.equal(readFileSync(full, "utf8"), f.content, `${p} content`);
        if (f.mode !== undefined) assert.equal((st.mode & 0o7777).toString(8).padStart(4, "0"), f.mode.padStart(4, "0"), `${p} mode`);
        if (!rootless && f.uid !== undefined) assert.equal(st.uid, f.uid, `${p} uid`);
        if (!rootless && f.gid !== undefined) assert.equal(st.gid, f.gid, `${p} gid`);
      }
    } finally {
      await client.close();
      tmp.cleanup();
    }
  });
}
