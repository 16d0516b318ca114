import { UsageError } from "./io.js";

export type OutputSpec =
  | { type: "oci" | "docker"; dest: string }
  | { type: "oci-layout"; dest: string; name?: string };

/** Parses `--output`: a bare path (OCI tarball) or buildx's `type=…,dest=…[,name=…]`. */
export function parseOutput(spec: string): OutputSpec {
  if (!spec.includes("=")) return { type: "oci", dest: spec };
  const fields: Record<string, string> = {};
  for (const part of spec.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new UsageError(`--output: "${part}" is not key=value (in "${spec}")`);
    fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  const type = fields.type ?? "oci";
  const dest = fields.dest;
  if (!dest) throw new UsageError(`--output ${spec}: dest= is required`);
  for (const k of Object.keys(fields)) {
    if (!["type", "dest", "name"].includes(k)) throw new UsageError(`--output ${spec}: unknown field "${k}" (use type, dest, name)`);
  }
  if (type === "oci" || type === "docker") return { type, dest };
  if (type === "oci-layout") return { type, dest, name: fields.name };
  throw new UsageError(`--output ${spec}: unknown type "${type}" (use oci, docker or oci-layout)`);
}
