/**
 * Registry progress (one callback per blob chunk and manifest) as detail
 * steps of the push or pull running around it: a trace shows each blob with
 * its size, and whether it was sent, mounted or already there.
 */
import type { ProgressEvent as RegistryProgress } from "../registry/client.js";
import type { Session } from "./session.js";

export function transferEvents(session: Session, prefix: string, verb: "push" | "pull"): (e: RegistryProgress) => void {
  const started = new Map<string, number>();
  return (e) => {
    const id = `${prefix}:${e.kind}:${e.digest}`;
    const name = `${verb} ${e.kind} ${e.digest}`;
    let t0 = started.get(id);
    if (t0 === undefined) {
      t0 = process.uptime();
      started.set(id, t0);
      if (!e.done) session.emit({ type: "step", id, name, status: "running", kind: "detail" });
    }
    if (!e.done) return;
    const size = e.total ?? e.bytes;
    const moved = e.skipped || e.mounted ? 0 : size;
    session.emit({
      type: "step",
      id,
      name,
      status: moved === 0 && e.kind === "blob" ? "cached" : "done",
      kind: "detail",
      duration: process.uptime() - t0,
      attributes: { "lading.blob.digest": e.digest, "lading.blob.size": size, [`lading.${verb}.bytes`]: moved, "lading.transfer": e.skipped ? "present" : e.mounted ? "mounted" : verb === "push" ? "sent" : "fetched" },
    });
  };
}
