/**
 * One build for the reproducibility tests, run as a child process so that
 * each can have its own user, umask, environment and working directory:
 * the Containerfile in CONTEXT, then a withExec through the API. Prints the
 * manifest digest, then, one per line, each layer's digest and its tar
 * entries (name, mode, owner, mtime, size), so a failing comparison says
 * which layer and which files differ.
 *   node repro-build.js STORE CONTEXT [RUNTIME]
 */
import { connect } from "../../src/index.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { layerListing } from "./repro-listing.js";

const [store, context, runtime] = process.argv.slice(2);
const lines = await connect(
  async (client) => {
    const built = await buildContainerfile(client, { context: context!, file: `${context}/Containerfile` });
    const image = built.withExec(["sh", "-c", "echo api > /api.txt && chmod 600 /api.txt && mkdir -p /var/cache/api && date > /tmp/api-was-here"]);
    const digest = await image.digest();
    return [digest, ...(await layerListing(store!, digest))];
  },
  { store: store!, ...(runtime ? { runtime: runtime as "runc" | "podman" } : {}) },
);
process.stdout.write(lines.join("\n") + "\n");
