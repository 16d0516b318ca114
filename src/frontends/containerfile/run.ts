/**
 * RUN: the command (exec form, shell form, heredoc scripts), its
 * `--mount`s, network and security modes, and build args in its
 * environment only. Mounts and build-arg variables are removed again after
 * the step, so they never reach the image or the next RUN.
 */
import { stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Container, Directory } from "../../index.js";
import { ContainerfileError } from "../../errors.js";
import { resolveInRoot } from "../../fsutil/scoped-path.js";
import { relativeInRoot } from "./copy.js";
import type { Instruction } from "./instructions.js";
import { parseMount } from "./mounts.js";
import type { BuildInputs, RootResolver, StageState } from "./state.js";

export type RunInstruction = Extract<Instruction, { kind: "RUN" }>;

/** Where BuildKit mounts a shebang heredoc script to execute it. */
const SCRIPT_DIR = "/dev/pipes";

export async function applyRun(st: StageState, ins: RunInstruction, in_: BuildInputs, roots: RootResolver): Promise<StageState> {
  const file = in_.parsed.file;
  const x = (w: string) => st.vars.expand(w, file, ins.line, "RUN", in_.parsed.escape);
  const fail = (msg: string): never => {
    throw new ContainerfileError(file, ins.line, `RUN: ${msg}`);
  };
  let c = st.c;
  const undo: Array<(c: Container) => Container> = [];
  let args: string[];
  if ("exec" in ins.command) args = ins.command.exec;
  else if (ins.heredocs.length === 1 && /^\d*<<-?\S+$/.test(ins.command.shell.trim())) {
    // `RUN <<EOF` alone: the body is the script (BuildKit's "simple heredoc").
    const doc = ins.heredocs[0]!;
    if (doc.content.startsWith("#!")) {
      // A script with a shebang is written to a file and executed, as BuildKit does.
      const dir = in_.client.directory().withNewFile(doc.name, doc.content, { permissions: 0o755 });
      c = c.withMountedDirectory(SCRIPT_DIR, dir, { readOnly: true });
      undo.push((k) => k.withoutMount(SCRIPT_DIR));
      args = [`${SCRIPT_DIR}/${doc.name}`];
    } else args = [...st.shell, doc.content];
  } else {
    // Other heredoc uses (`RUN python3 <<EOF`, several bodies) are the shell's job: it gets them as written.
    let script = ins.command.shell;
    for (const h of ins.heredocs) script += "\n" + h.content + h.name;
    args = [...st.shell, script];
  }
  for (const raw of ins.mounts) {
    let m;
    try {
      m = parseMount(x(raw));
    } catch (err) {
      if (err instanceof ContainerfileError) throw err;
      return fail((err as Error).message);
    }
    const owner = "uid" in m && (m.uid !== undefined || m.gid !== undefined) ? `${m.uid ?? "0"}:${m.gid ?? "0"}` : undefined;
    if (m.type === "cache") {
      const target = posix.resolve(st.workdir, m.target);
      const source = m.from !== undefined ? subdir((await roots.rootOf(m.from, ins.line, st.platform)).dir, relativeInRoot(m.source ?? "/")) : undefined;
      // BuildKit's cache id defaults to the target path.
      c = c.withMountedCache(target, in_.client.cacheVolume(m.id ?? target), { sharing: m.sharing, source, owner, userOwned: m.userOwned });
      undo.push((k) => k.withoutMount(target));
    } else if (m.type === "secret") {
      const id = m.id ?? (m.target ? posix.basename(m.target) : m.env!);
      const secret = in_.secrets[id];
      if (!secret) {
        if (m.required) fail(`secret "${id}" is required but was not given; pass it with --secret id=${id},src=<file> (or env=<VAR>)`);
        continue; // docker skips an optional secret that was not given
      }
      if (m.env) {
        const name = m.env;
        c = c.withSecretVariable(name, secret);
        undo.push((k) => k.withoutSecretVariable(name));
      }
      if (m.target || !m.env) {
        const target = m.target ? posix.resolve(st.workdir, m.target) : `/run/secrets/${id}`;
        c = c.withMountedSecret(target, secret, { mode: m.mode, owner });
        undo.push((k) => k.withoutMount(target));
      }
    } else if (m.type === "bind") {
      const target = posix.resolve(st.workdir, m.target);
      let rel = relativeInRoot(m.source);
      let dir: Directory;
      let isFile: boolean;
      if (m.from !== undefined) {
        dir = (await roots.rootOf(m.from, ins.line, st.platform)).dir;
        isFile = rel !== "" && (await dir.exists(rel, { expectedType: "REGULAR" }));
      } else {
        dir = in_.context;
        rel = (await resolveInRoot(in_.contextPath, rel)) ?? rel; // a symlinked source is followed, inside the context
        isFile = rel !== "" && (await stat(join(in_.contextPath, rel)).then((s) => s.isFile(), () => false));
      }
      c = isFile ? c.withMountedFile(target, dir.file(rel), { userOwned: m.userOwned }) : c.withMountedDirectory(target, subdir(dir, rel), { readOnly: !m.readWrite, userOwned: m.userOwned });
      undo.push((k) => k.withoutMount(target));
    } else {
      const target = posix.resolve(st.workdir, m.target);
      c = c.withMountedTemp(target, { copyUp: m.copyUp });
      undo.push((k) => k.withoutMount(target));
    }
  }
  // Build args are in the command's environment but not in the image (docker's rule).
  const runArgs = st.vars.runArgs();
  for (const [k, v] of runArgs) c = c.withEnvVariable(k, v);
  c = c.withExec(args, {
    network: ins.network === "none" ? "none" : ins.network === "host" ? "host" : undefined,
    insecureRootCapabilities: ins.security === "insecure",
    // BuildKit runs a RUN command as PID 1, with no init in front of it.
    noInit: true,
    noCache: in_.noCache || undefined,
    description: ins.text,
  });
  for (const [k] of runArgs) c = c.withoutEnvVariable(k);
  for (const u of undo.reverse()) c = u(c);
  st.c = c;
  return st;
}

function subdir(dir: Directory, rel: string): Directory {
  return rel === "" ? dir : dir.directory(rel);
}
