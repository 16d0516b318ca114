/**
 * Whether this machine can run a platform's programs, and how: natively, or
 * through an interpreter (qemu-user-static) registered with binfmt_misc.
 *
 * Asked before a build runs anything, so a missing emulator is one clear
 * error up front instead of "exec format error" after minutes of work. The
 * kernel picks a binfmt_misc handler by matching the file's first bytes
 * against each entry's magic and mask; we do the same with the ELF header a
 * static executable of the platform starts with, so whatever name the entry
 * has (qemu-aarch64, a distribution's own) it is found.
 *
 * Only entries with the F flag ("fix binary") count: the kernel then opens
 * the interpreter when it is registered, so it works inside a container's
 * root filesystem and in a user namespace (rootless), where the
 * interpreter's path does not exist. Without F, the kernel looks the path up
 * in the container and fails.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import type { Platform } from "../oci/types.js";

export const BINFMT_MISC = "/proc/sys/fs/binfmt_misc";

/** e_ident class (1: 32-bit, 2: 64-bit), data (1: little, 2: big endian) and e_machine per OCI architecture. */
const ELF: Record<string, { bits: 1 | 2; endian: 1 | 2; machine: number }> = {
  amd64: { bits: 2, endian: 1, machine: 62 },
  "386": { bits: 1, endian: 1, machine: 3 },
  arm64: { bits: 2, endian: 1, machine: 183 },
  arm: { bits: 1, endian: 1, machine: 40 },
  ppc64le: { bits: 2, endian: 1, machine: 21 },
  ppc64: { bits: 2, endian: 2, machine: 21 },
  s390x: { bits: 2, endian: 2, machine: 22 },
  riscv64: { bits: 2, endian: 1, machine: 243 },
  mips64le: { bits: 2, endian: 1, machine: 8 },
  mips64: { bits: 2, endian: 2, machine: 8 },
  mipsle: { bits: 1, endian: 1, machine: 8 },
  mips: { bits: 1, endian: 2, machine: 8 },
  loong64: { bits: 2, endian: 1, machine: 258 },
};

/** Architectures a CPU runs without help, beside its own (x86-64 runs i386 programs). */
const NATIVE_ALSO: Record<string, string[]> = { amd64: ["386"] };

export type Emulation = { kind: "native" } | { kind: "binfmt"; entry: string; interpreter: string };

/** The first 20 bytes of a static executable for `arch` (e_ident, e_type = ET_EXEC, e_machine). */
export function elfHeader(arch: string): Buffer | undefined {
  const e = ELF[arch];
  if (!e) return undefined;
  const b = Buffer.alloc(20);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, e.bits, e.endian, 1]).copy(b);
  if (e.endian === 1) {
    b.writeUInt16LE(2, 16);
    b.writeUInt16LE(e.machine, 18);
  } else {
    b.writeUInt16BE(2, 16);
    b.writeUInt16BE(e.machine, 18);
  }
  return b;
}

interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
  offset: number;
  magic?: Buffer;
  mask?: Buffer;
}

/** Parses one /proc/sys/fs/binfmt_misc/<name> file (see the kernel's admin-guide/binfmt-misc). */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry {
  const e: BinfmtEntry = { name, enabled: false, interpreter: "", flags: "", offset: 0 };
  for (const line of text.split("\n")) {
    const [k, ...rest] = line.trim().split(" ");
    const v = rest.join(" ");
    if (k === "enabled") e.enabled = true;
    else if (k === "interpreter") e.interpreter = v;
    else if (k === "flags:") e.flags = v;
    else if (k === "offset") e.offset = Number(v);
    else if (k === "magic") e.magic = Buffer.from(v, "hex");
    else if (k === "mask") e.mask = Buffer.from(v, "hex");
  }
  return e;
}

function matches(e: BinfmtEntry, header: Buffer): boolean {
  if (!e.magic) return false; // an extension entry (E), never chosen for an ELF file
  for (let i = 0; i < e.magic.length; i++) {
    const byte = header[e.offset + i];
    if (byte === undefined) return false;
    if ((byte & (e.mask?.[i] ?? 0xff)) !== e.magic[i]) return false;
  }
  return true;
}

/** The handlers registered in `dir` (binfmt_misc's mount point); empty when it is not mounted. */
async function readEntries(dir: string): Promise<BinfmtEntry[] | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  if (!names.includes("register")) return undefined;
  const out: BinfmtEntry[] = [];
  for (const n of names.sort()) {
    if (n === "register" || n === "status") continue;
    const text = await readFile(join(dir, n), "utf8").catch(() => undefined);
    if (text !== undefined) out.push(parseBinfmtEntry(n, text));
  }
  return out;
}

const INSTALL = "install qemu-user-static and binfmt-support (as root on Debian or Ubuntu: `apt-get install qemu-user-static binfmt-support`; they register qemu with the F flag)";

/**
 * How this machine runs programs of `target` (an `os/arch[/variant]` already parsed):
 * natively, or through the binfmt_misc entry that serves it.
 * @param dir binfmt_misc's mount point (a parameter so tests can give another one).
 * @throws LadingError `RUNTIME_UNAVAILABLE` saying what to install or fix when neither is so.
 */
export async function emulationFor(target: Platform, host: Platform, dir = BINFMT_MISC): Promise<Emulation> {
  const name = `${target.os}/${target.architecture}${target.variant ? "/" + target.variant : ""}`;
  if (target.os !== "linux") throw new LadingError("UNSUPPORTED", `RUN for ${name}: lading runs commands of linux images only`);
  if (target.architecture === host.architecture || NATIVE_ALSO[host.architecture]?.includes(target.architecture)) return { kind: "native" };
  const header = elfHeader(target.architecture);
  if (!header) throw new LadingError("UNSUPPORTED", `RUN for ${name}: lading does not know the executables of architecture "${target.architecture}", so it cannot tell whether this machine can run them (known: ${Object.keys(ELF).join(", ")})`);
  const where = `RUN for ${name} on this ${host.os}/${host.architecture} machine`;
  const entries = await readEntries(dir);
  if (!entries) {
    throw new LadingError("RUNTIME_UNAVAILABLE", `${where} needs an emulator registered with binfmt_misc, but binfmt_misc is not mounted at ${dir}: as root, \`mount -t binfmt_misc binfmt_misc ${dir}\`, then ${INSTALL} (already installed: \`update-binfmts --enable\`)`);
  }
  const status = await readFile(join(dir, "status"), "utf8").catch(() => "enabled");
  if (status.trim() === "disabled") throw new LadingError("RUNTIME_UNAVAILABLE", `${where} needs an emulator, and binfmt_misc is turned off as a whole (${join(dir, "status")} says disabled): as root, \`echo 1 > ${join(dir, "status")}\``);
  const candidates = entries.filter((e) => matches(e, header));
  const usable = candidates.find((e) => e.enabled && e.flags.includes("F"));
  if (usable) return { kind: "binfmt", entry: usable.name, interpreter: usable.interpreter };
  const disabled = candidates.find((e) => !e.enabled);
  if (disabled) throw new LadingError("RUNTIME_UNAVAILABLE", `${where}: its binfmt_misc handler ${join(dir, disabled.name)} is disabled; as root: \`update-binfmts --enable ${disabled.name}\` (or \`echo 1 > ${join(dir, disabled.name)}\`)`);
  const noFix = candidates[0];
  if (noFix) {
    throw new LadingError(
      "RUNTIME_UNAVAILABLE",
      `${where}: its binfmt_misc handler ${join(dir, noFix.name)} (${noFix.interpreter}) is registered without the F flag, so the kernel would look for the interpreter inside the container, where it is not; register it again with F (flags: F, or \`--fix-binary yes\` with update-binfmts), as qemu-user-static's own registration does`,
    );
  }
  throw new LadingError("RUNTIME_UNAVAILABLE", `${where} needs an emulator, and no binfmt_misc handler for ${target.architecture} executables is registered in ${dir}: ${INSTALL}`);
}
