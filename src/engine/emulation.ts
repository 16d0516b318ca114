/**
 * The check that a platform's commands can run here, asked once per session
 * and platform: by the exec step before its first run, and by callers that
 * want the answer before any work (the Containerfile frontend, through
 * `Client.emulatorFor`).
 */
import { emulationFor, type Emulation } from "../exec/emulation.js";
import type { Platform } from "../oci/types.js";
import { formatPlatform, hostPlatform, parsePlatform } from "./image-state.js";
import type { Session } from "./session.js";

const asked = new WeakMap<Session, Map<string, Promise<Emulation>>>();

/** How `platform`'s commands run on this machine; throws `RUNTIME_UNAVAILABLE` (with what to install) when they cannot. */
export function platformEmulation(session: Session, platform: Platform): Promise<Emulation> {
  let bySession = asked.get(session);
  if (!bySession) asked.set(session, (bySession = new Map()));
  const key = formatPlatform(platform);
  let p = bySession.get(key);
  if (!p) {
    p = emulationFor(platform, parsePlatform(hostPlatform()));
    bySession.set(key, p);
  }
  return p;
}
