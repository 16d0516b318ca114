/**
 * The exec helper process's script (runExec starts `node exec-helper.js` in
 * lading's namespaces). exec/ knows a store only as the ExecStore
 * interface; this is where the real store is bound to it, so exec/ never
 * imports store/.
 */
import { serveExecJobs } from "../exec/serve-jobs.js";
import { readEnvConfig } from "../env-config.js";
import { Store } from "../store/store.js";

// This process's environment is lading's (the helper inherits it): read once, at its start.
const { sharedStore } = readEnvConfig();
serveExecJobs((root) => Store.open(root, { shared: sharedStore }));
