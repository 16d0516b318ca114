/**
 * COPY --from a stage whose source path is, or lies below, a symbolic link:
 * the link is followed inside the stage's root (the good corpus has the
 * working cases, ok/52); a link that leads nowhere is a located error.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/api/client.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { ContainerfileError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-copy-from-links-");
after(() => t.cleanup());

test("COPY --from a dangling link (or through one) fails at its line, naming the source and the stage", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(join(ctx, "tree"), { recursive: true });
  symlinkSync("/nowhere", join(ctx, "tree", "dangling"));
  symlinkSync("../../missing", join(ctx, "tree", "up"));
  const client = await connect({ store: join(t.path, "store") });
  try {
    for (const src of ["/dangling", "/up/f"]) {
      const file = join(t.path, "Containerfile");
      writeFileSync(file, `FROM scratch AS s\nCOPY tree/ /\nFROM scratch\nCOPY --from=s ${src} /x\n`);
      await assert.rejects(
        buildContainerfile(client, { file, context: ctx }),
        (e: unknown) => e instanceof ContainerfileError && e.line === 4 && e.message.includes(`"${src}" not found in stage "s"`),
      );
    }
  } finally {
    await client.close();
  }
});
