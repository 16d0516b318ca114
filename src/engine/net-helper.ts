/**
 * The net helper process's script (net/net-client.ts starts `node
 * net-helper.js DIR` in the session's network namespace): binds the real
 * store for the containers it runs, as exec-helper.ts does for exec jobs.
 */
import { serveNet } from "../net/serve-net.js";
import { readEnvConfig } from "../env-config.js";
import type { Store } from "../store/store.js";

const { sharedStore } = readEnvConfig();
const stores = new Map<string, Promise<Store>>();
// Loaded beside the session network's set-up, not before it: the helper's start is a service's wait.
const storeCode = import("../store/store.js");
storeCode.catch(() => {});
void serveNet(process.argv[2]!, (root) => {
  let s = stores.get(root);
  if (!s) stores.set(root, (s = storeCode.then(({ Store }) => Store.open(root, { shared: sharedStore }))));
  return s;
});
