/**
 * The exec helper process's script (runExec starts `node exec-helper.js` in
 * lading's namespaces). exec/ knows a store only as the ExecStore
 * interface; this is where the real store is bound to it, so exec/ never
 * imports store/.
 */
import { serveExecJobs } from "../exec/serve-jobs.js";
import { Store } from "../store/store.js";

serveExecJobs((root) => Store.open(root));
