import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { ContainerfileError } from "../../src/errors.js";
import { parseContainerfile } from "../../src/frontends/containerfile/index.js";
import { tempDir } from "../helpers/tmp.js";

const BAD = fileURLToPath(new URL("../../../fixtures/containerfiles/bad/", import.meta.url));

/** Each bad file names its error: `# expect: LINE: substring`, and optionally `# target: STAGE`. */
function expectation(text: string): { line: number; message: string; target?: string } {
  const m = /^# expect: (\d+): (.+)$/m.exec(text);
  if (!m) throw new Error("bad corpus file without a `# expect: LINE: message` line");
  return { line: Number(m[1]), message: m[2]!, target: /^# target: (\S+)$/m.exec(text)?.[1] };
}

const files = readdirSync(BAD).filter((f) => f.endsWith(".Containerfile")).sort();

test("the bad corpus has at least 20 files", () => {
  assert.ok(files.length >= 20, `${files.length} files`);
});

for (const name of files) {
  test(`bad/${name} fails at its expected line with its expected message`, async () => {
    const path = join(BAD, name);
    const text = readFileSync(path, "utf8");
    const want = expectation(text);
    let err: unknown;
    try {
      parseContainerfile(text, name);
    } catch (e) {
      err = e;
    }
    if (!err) {
      // Errors found while translating (missing sources, build args, cycles) need the API.
      const { connect } = await import("../../src/api/client.js");
      const { buildContainerfile } = await import("../../src/frontends/containerfile/index.js");
      const store = tempDir();
      const ctx = tempDir();
      const client = await connect({ store: store.path });
      try {
        await buildContainerfile(client, { file: path, context: ctx.path, target: want.target });
      } catch (e) {
        err = e;
      } finally {
        await client.close();
        store.cleanup();
        ctx.cleanup();
      }
    }
    assert.ok(err instanceof ContainerfileError, `expected a ContainerfileError, got ${String(err)}`);
    assert.equal(err.line, want.line, err.message);
    assert.ok(err.message.includes(want.message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(want.message)}`);
    assert.ok(err.message.startsWith(`${name}:${want.line}: `) || err.message.includes(`:${want.line}: `), err.message);
  });
}
