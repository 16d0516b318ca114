import { LadingError } from "../../errors.js";

/**
 * `RUN --mount=…` options, parsed as BuildKit's instructions/commands_runmount.go does (CSV of key=value),
 * plus the options podman and buildah add, which Containerfiles written for them carry:
 *
 * - `z` / `Z` (also `relabel=shared|private`): relabel the source for SELinux. A no-op in lading, by
 *   design: the source of a bind or cache mount is lading's own private copy or store directory, and its
 *   RUN containers get no SELinux process label (the runtime spec sets none), so the command reads the
 *   files under the label of the user running lading whether SELinux is on or off (/sys/fs/selinux).
 * - `U`: chown the mount's contents, recursively, to the uid and gid the command runs as.
 * - `tmpcopyup` / `notmpcopyup` (tmpfs): start the tmpfs with a copy of what the image has at the target
 *   (default off, as in BuildKit and buildah's RUN --mount).
 */

/** One `RUN --mount=` as written: what it names (engine/ops.ts MountSpec is what it becomes). */
export type RunMount =
  | { type: "cache"; target: string; id?: string; sharing: "SHARED" | "PRIVATE" | "LOCKED"; from?: string; source?: string; uid?: string; gid?: string; userOwned: boolean }
  | { type: "secret"; id?: string; target?: string; env?: string; required: boolean; mode?: number; uid?: string; gid?: string }
  | { type: "bind"; target: string; source: string; from?: string; readWrite: boolean; userOwned: boolean }
  | { type: "tmpfs"; target: string; copyUp: boolean };

/** podman's options for bind and cache mounts (see the top of this file). */
const PODMAN_BIND = ["z", "Z", "relabel", "U"];

/** Parses one `--mount` value (already expanded); throws INVALID_ARGUMENT with a user-facing message (the caller adds file:line). */
export function parseMount(value: string): RunMount {
  const kv = new Map<string, string | undefined>();
  for (const field of value.split(",")) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const raw = eq < 0 ? field : field.slice(0, eq);
    // podman's one-letter flags are case-sensitive (z shares a label, Z makes it private; U is the only U).
    const key = ["z", "Z", "U"].includes(raw) ? raw : raw.toLowerCase();
    kv.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = kv.get("type") ?? "bind";
  const target = kv.get("target") ?? kv.get("dst") ?? kv.get("destination");
  const bool = (k: string, dflt: boolean): boolean => {
    if (!kv.has(k)) return dflt;
    const v = kv.get(k);
    if (v === undefined || v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new LadingError("INVALID_ARGUMENT", `--mount option ${k}=${v} must be true or false`);
  };
  const known: Record<string, string[]> = {
    cache: ["type", "target", "dst", "destination", "id", "sharing", "from", "source", "src", "mode", "uid", "gid", "ro", "readonly", ...PODMAN_BIND],
    secret: ["type", "target", "dst", "destination", "id", "env", "required", "mode", "uid", "gid"],
    bind: ["type", "target", "dst", "destination", "source", "src", "from", "rw", "readwrite", "ro", "readonly", ...PODMAN_BIND],
    tmpfs: ["type", "target", "dst", "destination", "size", "tmpcopyup", "notmpcopyup"],
  };
  if (type === "ssh") throw new LadingError("INVALID_ARGUMENT", "--mount=type=ssh is not supported by lading: pass credentials as a secret mount instead");
  if (!known[type]) throw new LadingError("INVALID_ARGUMENT", `unknown --mount type "${type}" (use cache, secret, bind or tmpfs)`);
  for (const k of kv.keys()) if (!known[type]!.includes(k)) throw new LadingError("INVALID_ARGUMENT", `unknown --mount option "${k}" for type=${type}`);
  const needTarget = (): string => {
    if (!target) throw new LadingError("INVALID_ARGUMENT", `--mount=type=${type} needs target=<path>`);
    return target;
  };
  const source = kv.get("source") ?? kv.get("src");
  const relabel = kv.get("relabel");
  if (relabel !== undefined && relabel !== "shared" && relabel !== "private") throw new LadingError("INVALID_ARGUMENT", `--mount relabel=${relabel} must be shared or private`);
  for (const flag of ["z", "Z", "U", "tmpcopyup", "notmpcopyup"]) {
    if (kv.get(flag) !== undefined) throw new LadingError("INVALID_ARGUMENT", `--mount option ${flag} takes no value (write it alone: …,${flag})`);
  }
  if (kv.has("tmpcopyup") && kv.has("notmpcopyup")) throw new LadingError("INVALID_ARGUMENT", "--mount options tmpcopyup and notmpcopyup contradict each other: keep one");
  const userOwned = kv.has("U");
  switch (type) {
    case "cache": {
      const sharing = (kv.get("sharing") ?? "shared").toUpperCase();
      if (!["SHARED", "PRIVATE", "LOCKED"].includes(sharing)) throw new LadingError("INVALID_ARGUMENT", `--mount sharing=${kv.get("sharing")} must be shared, private or locked`);
      return { type, target: needTarget(), id: kv.get("id"), sharing: sharing as "SHARED", from: kv.get("from"), source, uid: kv.get("uid"), gid: kv.get("gid"), userOwned };
    }
    case "secret": {
      const mode = kv.get("mode");
      if (mode !== undefined && !/^[0-7]+$/.test(mode)) throw new LadingError("INVALID_ARGUMENT", `--mount mode=${mode} must be octal (e.g. 0400)`);
      const id = kv.get("id");
      if (!id && !target && !kv.get("env")) throw new LadingError("INVALID_ARGUMENT", "--mount=type=secret needs id=<secret id> or target=<path>");
      return { type, id, target, env: kv.get("env"), required: bool("required", false), mode: mode === undefined ? undefined : parseInt(mode, 8), uid: kv.get("uid"), gid: kv.get("gid") };
    }
    case "bind":
      return { type, target: needTarget(), source: source ?? "/", from: kv.get("from"), readWrite: bool("rw", false) || bool("readwrite", false), userOwned };
    default:
      return { type: "tmpfs", target: needTarget(), copyUp: kv.has("tmpcopyup") };
  }
}
