/**
 * Whether a session has a service running (or starting): then every exec
 * joins the session network, so the services' global hostnames resolve
 * there, as in Dagger. Apart from services.ts so that a plain exec can ask
 * without loading the session network's code, which a session without
 * services never does.
 */
import type { Session } from "./session.js";

const live = new WeakMap<Session, () => boolean>();

/** Called once by the session's services owner. */
export function noteServices(session: Session, running: () => boolean): void {
  live.set(session, running);
}

export function servicesRunning(session: Session): boolean {
  return live.get(session)?.() ?? false;
}
