/**
 * COPY and ADD, with docker's path rules: sources are relative to their root
 * (the context, a stage or an image) and cannot leave it; a directory source
 * copies its contents; a destination ending in "/" is a directory; several
 * sources need such a destination; globs are matched in the root; ADD
 * unpacks local tar archives (plain, gzip, bzip2, xz), takes git
 * repositories (`ADD https://host/repo.git#ref /dst`) and refuses other URLs.
 */
import { join, posix } from "node:path";
import { isGitAddress, type Client, type Container, type Directory, type File } from "../../index.js";
import { gitSourceDirectory } from "./git-source.js";
import type { ConfigStepContext } from "./config-steps.js";
import type { CopyRoot, StageState } from "./state.js";
import { ContainerfileError } from "../../errors.js";
import { createMatcher } from "../../fsutil/patterns.js";
import { isTarArchive } from "../../fsutil/archive-sniff.js";
import { resolveInRoot } from "../../fsutil/scoped-path.js";
import { pathKind } from "./probe.js";
import type { Instruction } from "./instructions.js";
import { processHeredoc, ShellLexError } from "./shell-lex.js";

export type CopyInstruction = Extract<Instruction, { kind: "COPY" | "ADD" }>;

/** What one source contributes: a directory's contents (`archive`: an unpacked ADD archive), a file (named as the source was), or a heredoc. */
type Item = { kind: "dir"; dir: Directory; archive?: boolean } | { kind: "file"; file: File; name: string } | { kind: "new"; name: string; contents: string };

const GLOB = /[*?[]/;

/** Adds one COPY/ADD to the stage's container; `root` is where the sources are (context, stage or image). */
export async function applyCopy(client: Client, st: StageState, ins: CopyInstruction, root: CopyRoot, ctx: ConfigStepContext): Promise<Container> {
  const { file, escape } = ctx;
  const x = (w: string) => st.vars.expand(w, file, ins.line, ins.kind, escape);
  const fail = (msg: string): never => {
    throw new ContainerfileError(file, ins.line, `${ins.kind}: ${msg}`);
  };
  const chmod = ins.chmod !== undefined ? x(ins.chmod) : undefined;
  if (chmod !== undefined && !(/^[0-7]+$/.test(chmod) && parseInt(chmod, 8) <= 0o7777)) {
    fail(`invalid --chmod=${chmod}: it must be an octal mode between 0 and 07777, such as 755 or 0644`);
  }
  const owner = ins.chown !== undefined ? x(ins.chown) : undefined;
  if (owner === "") fail("--chown is empty after expansion");
  const rawDest = x(ins.dest);
  if (rawDest === "") fail("the destination is empty after expansion");
  // A relative destination is under WORKDIR; a trailing "/" (or "." / "..") makes it a directory.
  const destIsDir = /\/$|(^|\/)\.\.?$/.test(rawDest);
  const resolved = posix.resolve(st.workdir, rawDest);
  const dest = destIsDir && resolved !== "/" ? resolved + "/" : resolved;
  if (ins.sources.length > 1 && !destIsDir) fail(`when copying more than one source, the destination must be a directory and end with a / (got "${rawDest}")`);
  const exclude = ins.exclude.length ? ins.exclude.map(x) : undefined;
  const excluded = exclude ? createMatcher(exclude) : undefined;
  const env = st.vars.shellEnv(file, ins.line, ins.kind);
  const items: Item[] = [];
  let heredocIndex = 0;
  for (const raw of ins.sources) {
    const isHeredoc = ins.heredocs.length > 0 && /^\d*<<-?/.test(raw);
    const src = isHeredoc ? raw : x(raw);
    if (isHeredoc) {
      const doc = ins.heredocs[heredocIndex++]!;
      let contents = doc.content;
      if (doc.expand) {
        try {
          // BuildKit expands bodies with a fresh lexer whose escape is always "\\".
          contents = processHeredoc(doc.content, env);
        } catch (err) {
          if (err instanceof ShellLexError) fail(`heredoc <<${doc.name}: ${err.message}`);
          throw err;
        }
      }
      items.push({ kind: "new", name: doc.name, contents });
      continue;
    }
    if (ins.kind === "ADD" && isGitAddress(src)) {
      // BuildKit's ADD of a repository: its files (at the ref, below the subdir) go into the destination.
      items.push({ kind: "dir", dir: gitSourceDirectory(client, src, { keepGitDir: ins.keepGitDir }) });
      continue;
    }
    if (ins.kind === "ADD" && ins.keepGitDir) fail(`--keep-git-dir applies to a git repository source, and "${src}" is not one`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src) || /^git@/.test(src)) {
      fail(
        ins.kind === "ADD"
          ? `fetching ${src} needs the network, which the Containerfile frontend does not use; download it first and COPY it from the build context`
          : `${src}: COPY does not fetch URLs; use a path in the build context`,
      );
    }
    const rel = relativeInRoot(src);
    const paths = GLOB.test(rel) ? (await root.dir.glob(rel)).map((p) => p.replace(/\/$/, "")) : [rel];
    // BuildKit would copy nothing here; buildah and docker's classic builder refuse, which catches typos.
    if (GLOB.test(rel) && paths.length === 0) fail(`no source files were specified: nothing in ${root.label} matches "${src}"`);
    for (const p of paths) {
      if (excluded && p !== "" && excluded(p, false)) continue;
      if (root.container && p !== "" && (await linkedInImage(root.dir, p))) {
        items.push(await followInImage(root.container, p, src, root.label, fail));
        continue;
      }
      // In the context a symlinked source is read on the host, scoped to the context.
      const real = root.hostPath && p !== "" ? ((await resolveInRoot(root.hostPath, p)) ?? p) : p;
      const isDir = await root.dir.exists(real, { expectedType: "DIRECTORY" });
      if (!isDir && !(await root.dir.exists(real))) {
        fail(`"${src}" not found in ${root.label}${root.hostPath ? " (or excluded by .dockerignore/.containerignore)" : ""}`);
      }
      if (isDir) {
        items.push({ kind: "dir", dir: real === "" ? root.dir : root.dir.directory(real) });
      } else if (ins.kind === "ADD" && root.hostPath && (await isTarArchive(join(root.hostPath, real)))) {
        items.push({ kind: "dir", dir: client.archive(root.dir.file(real)), archive: true });
      } else items.push({ kind: "file", file: root.dir.file(real), name: posix.basename(p) });
    }
  }
  if (items.length === 0) fail(`no source files were specified (every source was excluded)`);
  const permissions = chmod !== undefined ? parseInt(chmod, 8) : undefined;
  const opts = { owner, permissions, description: ins.text };
  if (owner !== undefined && items.some((it) => it.kind === "dir" && it.archive)) return addArchivesKeepingOwners(client, st.c, items, dest, { ...opts, owner }, exclude);
  const c = st.c;
  const only = items.length === 1 ? items[0]! : undefined;
  if (only && !destIsDir && only.kind !== "dir") {
    // One file to a path without a trailing "/": docker copies into that path if it already is a directory.
    const into = (await pathKind(c, dest)) === "other" ? posix.join(dest, only.name) : dest;
    if (only.kind === "file") return c.withFile(into, only.file, opts);
    return c.withNewFile(into, only.contents, { ...opts, permissions: permissions ?? 0o644 });
  }
  if (only && only.kind === "dir") return c.withDirectory(dest, only.dir, { ...opts, exclude });
  return c.withDirectory(dest, gather(client, items, exclude), opts);
}

/** Several items (or files into a directory) gathered into one directory, for one layer, as docker does. */
function gather(client: Client, items: readonly Item[], exclude: string[] | undefined): Directory {
  let gathered = client.directory();
  for (const it of items) {
    if (it.kind === "dir") gathered = gathered.withDirectory(".", it.dir, { exclude });
    else if (it.kind === "file") gathered = gathered.withFile(it.name, it.file);
    else gathered = gathered.withNewFile(it.name, it.contents, { permissions: 0o644 });
  }
  return gathered;
}

/**
 * `ADD --chown` with archives among the sources: docker (and buildah) keep
 * the owners written in an archive for what it unpacks; the owner applies
 * to the destination directory, the parents it creates and the other
 * sources. The API's owner covers a whole step, so the destination is made
 * first (owned), then each run of archives (owners kept) and of other
 * sources (owned) is a step of its own, in the sources' order, so that a
 * later source still replaces an earlier one.
 */
function addArchivesKeepingOwners(
  client: Client,
  c: Container,
  items: readonly Item[],
  dest: string,
  opts: { owner: string; permissions?: number; description: string },
  exclude: string[] | undefined,
): Container {
  if (dest !== "/") c = c.withDirectory(dest, client.directory(), { owner: opts.owner, description: `${opts.description} (create)` });
  const isArchive = (it: Item) => it.kind === "dir" && it.archive === true;
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j < items.length && isArchive(items[j]!) === isArchive(items[i]!)) j++;
    const run = gather(client, items.slice(i, j), exclude);
    c = isArchive(items[i]!) ? c.withDirectory(dest, run, { description: opts.description }) : c.withDirectory(dest, run, opts);
    i = j;
  }
  return c;
}

/**
 * Whether a source in a stage or image is a symbolic link, or lies below
 * one (then the root's listing has no entry at its literal path).
 */
async function linkedInImage(dir: Directory, p: string): Promise<boolean> {
  return (await dir.exists(p, { expectedType: "SYMLINK" })) || !(await dir.exists(p));
}

/**
 * A source reached through a symbolic link in a stage or image: docker
 * follows the source path itself and its parents (links inside a copied
 * directory stay links); the container's own path lookup does that with
 * the image's root as "/", so a link can never lead out of it. The copy
 * is named as the source was (`COPY --from=x /bin/ls /t/` gives /t/ls).
 */
async function followInImage(container: Container, p: string, src: string, label: string, fail: (m: string) => never): Promise<Item> {
  const abs = "/" + p;
  const kind = await pathKind(container, abs);
  if (kind === "missing") return fail(`"${src}" not found in ${label}`);
  if (kind === "file") return { kind: "file", file: container.file(abs), name: posix.basename(p) };
  return { kind: "dir", dir: container.directory(abs) };
}

/** A source path made relative to its root: "/a/../b" and "../b" both mean "b", as docker keeps sources inside the context. */
export function relativeInRoot(src: string): string {
  const norm = posix.normalize("/" + src);
  return norm === "/" ? "" : norm.replace(/^\/+/, "").replace(/\/$/, "");
}
