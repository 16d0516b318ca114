import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Every test makes temp dirs, so every test process gets its own empty home from here.
import "./isolated-home.js";

/** A fresh temp dir, removed by the returned cleanup (call it from `after`). */
export function tempDir(prefix = "lading-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), prefix));
  return { path, cleanup: () => removeTestTree(path) };
}

/**
 * rmSync's retries: podman's container clean-up (the exit command conmon
 * starts when a container ends) can still be writing its state database in
 * a store for a few ms after the exec returned; removing the tree then met
 * ENOTEMPTY once in CI.
 */
const RM = { recursive: true, force: true, maxRetries: 10, retryDelay: 50 } as const;

/** Removes a test's temp tree and what its stores keep outside it (podman runroots in /tmp). */
export function removeTestTree(path: string): void {
  for (const runroot of podmanRunrootsIn(path)) rmSync(runroot, RM);
  rmSync(path, RM);
}

/**
 * The podman runroots that stores under `dir` recorded outside themselves:
 * a store whose path is too long for podman's runroot keeps it in a fresh
 * temp dir (src/exec/podman-state.ts), which removing the store leaves behind.
 * Looks for `<store>/lading/podman/<mapping>/runroot-path` a few levels down,
 * never inside a store's own folders (snapshots can be large).
 */
function podmanRunrootsIn(dir: string, depth = 4): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  if (names.includes("lading") && names.includes("blobs")) {
    const podman = join(dir, "lading", "podman");
    for (const tag of safeList(podman)) {
      try {
        const recorded = readFileSync(join(podman, tag, "runroot-path"), "utf8").trim();
        if (recorded && !recorded.startsWith(dir + "/")) out.push(recorded);
      } catch {
        // no record: the runroot is inside the store
      }
    }
    return out;
  }
  if (depth > 0) for (const n of names) out.push(...podmanRunrootsIn(join(dir, n), depth - 1));
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
