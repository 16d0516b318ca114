import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Every test makes temp dirs, so every test process gets its own empty home from here.
import "./isolated-home.js";

/** A fresh temp dir, removed by the returned cleanup (call it from `after`). */
export function tempDir(prefix = "lading-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
