// Under CI=true a skipped test fails the run unless it is listed here with
// why it may skip in CI: a skip that nobody chose (the exec probe failing,
// a filesystem without xattrs, a missing reference) hides a broken test.
// Keys are "<pass>: <file under dist/test> › <suites ›> <test name>", the
// pass being "root" (the whole suite) or "rootless" (the exec tests again as
// lading-ci). test/skip-reporter.mjs records the skips; run.mjs checks them.
import { readFileSync } from "node:fs";

/** Test → why it may skip in CI. */
export const ALLOWED_IN_CI = {
  "root: exec/single-id.test.js › rootless with a single id":
    "a non-root user mapped to nothing but itself; as root it has no meaning, and the rootless pass runs it",
  "root: exec/backends.test.js › podman backend without crun, rootless":
    "the error for rootless podman without crun; as root there is no such case",
  "rootless: exec/mount-native.test.js › npm install built the mount addon, and it mounts and unmounts an overlay":
    "mount(2) outside a user namespace needs root; rootless, the exec helper mounts through the addon inside its own namespaces in every exec test of this pass",
  "rootless: exec/backends.test.js › podman backend without crun, rootless":
    "needs a machine without crun; CI installs crun, so 'runtime backends' runs rootless podman (with crun) instead",
  ...Object.fromEntries([
    "podman without /run/runc, /run/crun or machine config",
    "podman's runroot as root, with another user's dirs in its way",
    "podman containers of a killed lading",
  ].map((name) => [
    `rootless: exec/podman-state.test.js › ${name}`,
    "it makes mounts and files as another user, so it needs root; the root pass runs it, and it runs the rootless case itself through setpriv",
  ])),
};

/**
 * The skips one pass's reporter wrote, each named "<pass>: <file relative
 * to base> › …"; `complete` is false when the reporter did not finish (or
 * never ran), so the list cannot be trusted.
 */
export function readSkips(file, pass, base) {
  let lines;
  try {
    lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return { skips: [], complete: false };
  }
  const skips = lines.filter((r) => !r.end).map((r) => {
    const rel = r.file?.startsWith(base + "/") ? r.file.slice(base.length + 1) : r.file ?? "?";
    return { test: `${pass}: ${[rel, ...r.suites, r.name].join(" › ")}`, reason: r.reason };
  });
  return { skips, complete: lines.some((r) => r.end) };
}

/** One line per skip not in `allowed`, naming the test and the reason it gave. */
export function unexpectedSkips(skips, allowed = ALLOWED_IN_CI) {
  return skips.filter((s) => !Object.hasOwn(allowed, s.test)).map((s) => `${s.test}: skipped (${s.reason || "no reason given"}) but not allowed to skip in CI (test/ci-skips.mjs)`);
}
