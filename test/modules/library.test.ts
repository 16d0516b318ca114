/**
 * Build modules from code (`lading/modules`), as a tool of the user's own
 * would call them: a module's function gives the same image as the same
 * steps written against the API directly; `dag` is the client of the call
 * and refuses to work outside one.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, Container, dag, LadingError, withDag } from "../../src/index.js";
import { callModule, openModule, renderResult } from "../../src/frontends/modules/index.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { fixture } from "./fixtures.js";

const t = tempDir("lading-modules-lib-");
let busybox: TestImage;
let src: string;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  src = join(t.path, "app");
  mkdirSync(src);
  writeFileSync(join(src, "main.txt"), "the app\n");
});
after(() => t.cleanup());

test("a module function called from code returns a Container with the digest of the same steps written directly", async () => {
  await connect(async (client) => {
    const mod = await openModule(client, fixture("ci"));
    assert.deepEqual(mod.schema.objects.Pipeline!.functions.map((f) => f.name), ["build", "hello", "sum", "pick", "secretLength", "firstLine", "notes", "tags", "release"]);
    const result = await callModule(client, mod, ["build", "--base", busybox.ref, "--src", src]);
    assert.ok(result.value instanceof Container);
    const direct = client.container().from(busybox.ref).withDirectory("/app", client.host().directory(src)).withWorkdir("/app").withExec(["sh", "-c", "ls > /listing.txt"]);
    assert.equal(await (result.value as Container).digest(), await direct.digest());
    assert.equal(await renderResult(mod, result, false), (await direct.digest()) + "\n");
    const chained = await callModule(client, mod, ["build", "--base", busybox.ref, "--src", src, "file", "--path", "/listing.txt", "contents"]);
    assert.equal(chained.value, "main.txt\n");
  }, { store: join(t.path, "store") });
});

test("dag is the client of the call running now, and a clear error outside one", async () => {
  assert.throws(() => dag.directory(), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /dag is the client of a module call/.test(e.message));
  await connect(async (client) => {
    const viaDag = await withDag(client, () => dag.directory().withNewFile("a", "b").digest());
    assert.equal(viaDag, await client.directory().withNewFile("a", "b").digest());
    const mod = await openModule(client, fixture("js-funcs"));
    const note = await callModule(client, mod, ["note", "--text", "from code", "contents"]);
    assert.equal(note.value, "from code");
  }, { store: join(t.path, "store") });
});

test("a throwing function is a MODULE error whose cause is what the module threw", async () => {
  await connect(async (client) => {
    const mod = await openModule(client, fixture("throws"));
    await assert.rejects(callModule(client, mod, ["release", "--version", "x"]), (e: unknown) => {
      assert.ok(e instanceof LadingError);
      assert.equal(e.code, "MODULE");
      assert.equal((e.cause as Error).message, 'version "x" is not a number');
      return true;
    });
  }, { store: join(t.path, "store") });
});
