/**
 * A stand-in for a lading process, for the kill tests: runs one exec
 * (`echo ready; sleep 30`) on the image whose layers are given as JSON in
 * argv and prints "ready" once the container has started.
 */
import { Store } from "../../src/store/store.js";
import { runExec } from "../../src/exec/run.js";
import { EXEC_HELPER } from "../../src/engine/exec-helper-path.js";
import { readEnvConfig } from "../../src/env-config.js";

const [storeRoot, layersJson, env] = process.argv.slice(2);
const store = await Store.open(storeRoot!);
await runExec({
  store,
  helper: EXEC_HELPER,
  settings: readEnvConfig(),
  runtime: readEnvConfig().runtime as "runc" | undefined,
  layers: JSON.parse(layersJson!),
  args: ["sh", "-c", "echo ready; sleep 30"],
  env: JSON.parse(env!),
  cwd: "/",
  user: "",
  mounts: [],
  network: "host",
  onOutput: (_s, c) => {
    if (c.toString().includes("ready")) process.stdout.write("ready\n");
  },
});
