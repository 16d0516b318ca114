import { fileURLToPath } from "node:url";

/** The exec helper's script, for runExec (a separate file: importing the script itself would start serving). */
export const EXEC_HELPER = fileURLToPath(new URL("./exec-helper.js", import.meta.url));

/** The net helper's script, for a session's services (net/net-client.ts). */
export const NET_HELPER = fileURLToPath(new URL("./net-helper.js", import.meta.url));
