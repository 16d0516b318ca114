/**
 * The CAs of NODE_EXTRA_CA_CERTS, for a `lading` command that started
 * without them. Node reads that file (and builds its root store) as every
 * process starts, ~25 ms whether or not the process ever speaks TLS; the
 * command's launcher (bin/lading.js) moves the variable to
 * LADING_EXTRA_CA_CERTS, and the registry transport trusts the file from
 * there when it first verifies a certificate: node's own roots plus the
 * file's, as node would have.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { SecureContext } from "node:tls";

let memo: { file: string; context: SecureContext | undefined } | undefined;

/** One TLS context, node's roots and those in `file`, for every verified connection of the process; undefined when `file` cannot be read. */
export function extraCaContext(file: string): SecureContext | undefined {
  if (memo?.file === file) return memo.context;
  let context: SecureContext | undefined;
  try {
    // Required here, not imported: node:tls costs ~3 ms to load, and a push over plain HTTP never needs it.
    const { createSecureContext, rootCertificates } = createRequire(import.meta.url)("node:tls") as typeof import("node:tls");
    context = createSecureContext({ ca: [...rootCertificates, readFileSync(file, "utf8")] });
  } catch (err) {
    // What node does with a NODE_EXTRA_CA_CERTS it cannot load: say so, and go on with its own roots.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
  }
  memo = { file, context };
  return context;
}
