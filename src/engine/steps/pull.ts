import { LadingError } from "../../errors.js";
import type { Platform } from "../../oci/types.js";
import type { Session } from "../session.js";
import type { ResolvedImage } from "./from.js";

/** Pulls from a registry (or finds the pinned content already in the store, with no request). */
export async function pullImage(session: Session, address: string, platform: Platform): Promise<ResolvedImage> {
  const { parseReference, formatReference } = await import("../../registry/reference.js");
  let ref;
  try {
    ref = parseReference(address);
  } catch (err) {
    throw new LadingError("NOT_FOUND", `image "${address}" is not in the store and is not a valid registry reference: ${(err as Error).message}`, { cause: err });
  }
  const { RegistryClient } = await import("../../registry/client.js");
  const { pullIfMissing } = await import("../../registry/pull-policy.js");
  const client = new RegistryClient({ ...session.config.registry, auth: session.registryAuth });
  try {
    const manifest = await pullIfMissing(client, session.store, ref, session.config.pull, { platform, signal: session.config.signal });
    return { manifest, name: formatReference(ref) };
  } finally {
    await client.close();
  }
}
