import { LadingError } from "../../errors.js";

/** `RUN --mount=…` options, parsed as BuildKit's instructions/commands_runmount.go does (CSV of key=value). */

/** One `RUN --mount=` as written: what it names (engine/ops.ts MountSpec is what it becomes). */
export type RunMount =
  | { type: "cache"; target: string; id?: string; sharing: "SHARED" | "PRIVATE" | "LOCKED"; from?: string; source?: string; uid?: string; gid?: string }
  | { type: "secret"; id?: string; target?: string; env?: string; required: boolean; mode?: number; uid?: string; gid?: string }
  | { type: "bind"; target: string; source: string; from?: string; readWrite: boolean }
  | { type: "tmpfs"; target: string };

/** Parses one `--mount` value (already expanded); throws INVALID_ARGUMENT with a user-facing message (the caller adds file:line). */
export function parseMount(value: string): RunMount {
  const kv = new Map<string, string | undefined>();
  for (const field of value.split(",")) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
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
    cache: ["type", "target", "dst", "destination", "id", "sharing", "from", "source", "src", "mode", "uid", "gid", "ro", "readonly"],
    secret: ["type", "target", "dst", "destination", "id", "env", "required", "mode", "uid", "gid"],
    bind: ["type", "target", "dst", "destination", "source", "src", "from", "rw", "readwrite", "ro", "readonly"],
    tmpfs: ["type", "target", "dst", "destination", "size"],
  };
  if (type === "ssh") throw new LadingError("INVALID_ARGUMENT", "--mount=type=ssh is not supported by lading: pass credentials as a secret mount instead");
  if (!known[type]) throw new LadingError("INVALID_ARGUMENT", `unknown --mount type "${type}" (use cache, secret, bind or tmpfs)`);
  for (const k of kv.keys()) if (!known[type]!.includes(k)) throw new LadingError("INVALID_ARGUMENT", `unknown --mount option "${k}" for type=${type}`);
  const needTarget = (): string => {
    if (!target) throw new LadingError("INVALID_ARGUMENT", `--mount=type=${type} needs target=<path>`);
    return target;
  };
  const source = kv.get("source") ?? kv.get("src");
  switch (type) {
    case "cache": {
      const sharing = (kv.get("sharing") ?? "shared").toUpperCase();
      if (!["SHARED", "PRIVATE", "LOCKED"].includes(sharing)) throw new LadingError("INVALID_ARGUMENT", `--mount sharing=${kv.get("sharing")} must be shared, private or locked`);
      return { type, target: needTarget(), id: kv.get("id"), sharing: sharing as "SHARED", from: kv.get("from"), source, uid: kv.get("uid"), gid: kv.get("gid") };
    }
    case "secret": {
      const mode = kv.get("mode");
      if (mode !== undefined && !/^[0-7]+$/.test(mode)) throw new LadingError("INVALID_ARGUMENT", `--mount mode=${mode} must be octal (e.g. 0400)`);
      const id = kv.get("id");
      if (!id && !target && !kv.get("env")) throw new LadingError("INVALID_ARGUMENT", "--mount=type=secret needs id=<secret id> or target=<path>");
      return { type, id, target, env: kv.get("env"), required: bool("required", false), mode: mode === undefined ? undefined : parseInt(mode, 8), uid: kv.get("uid"), gid: kv.get("gid") };
    }
    case "bind":
      return { type, target: needTarget(), source: source ?? "/", from: kv.get("from"), readWrite: bool("rw", false) || bool("readwrite", false) };
    default:
      return { type: "tmpfs", target: needTarget() };
  }
}
