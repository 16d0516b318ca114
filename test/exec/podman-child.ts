/**
 * For the podman state tests: runs `sh -c <argv[2]>` through the podman
 * backend on a fresh busybox store and prints, as JSON, what a user sees
 * (exit code, output, the layer's entries) and what is in /run afterwards.
 * Run in a mount namespace of the test's making, as root or another user.
 */
import { readdirSync } from "node:fs";
import { busybox, layerItems, sh } from "./fixture.js";

const b = await busybox();
try {
  const r = await sh(b, b.layers, process.argv[2]!, { runtime: "podman" });
  const names = r.layer ? (await layerItems(b.store, r.layer)).map((i) => i.name) : [];
  process.stdout.write(JSON.stringify({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, names, run: readdirSync("/run").sort() }) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e) }) + "\n");
} finally {
  b.cleanup();
}
