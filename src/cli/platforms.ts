/**
 * `--platform a,b,…`: the platforms to build, in the spelling BuildKit
 * normalises to (containerd's platforms.Normalize), so TARGETPLATFORM and
 * the index say `linux/arm64` whether the user typed `linux/aarch64` or
 * `linux/arm64/v8`, and two spellings of one platform are caught as one.
 */
import { UsageError } from "./io.js";

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", i386: "386", armhf: "arm", armel: "arm" };

/** One platform, normalised: `os/arch[/variant]`, arm64's default variant v8 dropped, arm's v7 made explicit. */
export function normalizePlatform(spec: string): string {
  const parts = spec.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) throw new UsageError(`--platform ${spec}: expected os/arch[/variant], e.g. linux/amd64`);
  const os = parts[0]!;
  const arch = ARCH_ALIASES[parts[1]!] ?? parts[1]!;
  let variant = parts[2] ?? "";
  if (parts[1] === "armel" && !variant) variant = "v6";
  if (arch === "arm64" && variant === "v8") variant = "";
  if (arch === "arm" && !variant) variant = "v7";
  return variant ? `${os}/${arch}/${variant}` : `${os}/${arch}`;
}

/** The comma-separated list, normalised, in the order given; a platform named twice is a usage error. */
export function parsePlatformList(spec: string): string[] {
  const out: string[] = [];
  for (const one of spec.split(",")) {
    const p = normalizePlatform(one);
    if (out.includes(p)) throw new UsageError(`--platform ${spec}: ${p} is named twice`);
    out.push(p);
  }
  return out;
}
