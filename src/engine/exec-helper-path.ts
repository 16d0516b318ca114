import { fileURLToPath } from "node:url";

/** The exec helper's script, for runExec (a separate file: importing the script itself would start serving). */
export const EXEC_HELPER = fileURLToPath(new URL("./exec-helper.js", import.meta.url));
