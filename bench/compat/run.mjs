#!/usr/bin/env node
// The compatibility runner: builds every Containerfile/Dockerfile under the
// given directories with lading and with buildah on the same base images,
// compares the outcome, the files and the config, prints one line per
// difference and a summary. Someone deciding whether to switch runs it on
// their own repository. `--help` says how.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readImage } from "./image-files.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EXCEPTIONS_NAME = "compat-exceptions.txt";

const USAGE = `Usage: node bench/compat/run.mjs [options] DIR...

Builds every Containerfile and Dockerfile under each DIR (also *.Containerfile,
*.Dockerfile, Containerfile.*, Dockerfile.*) with lading and with buildah, and
compares whether each build succeeds, the files of the images (type, mode,
owner, content hash, link target) and their config (Env, Cmd, Entrypoint,
WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, author).

The build context of a file is its directory, or the context/ folder beside
it when there is one. An expect.json beside it (lading's fixture format) may
give buildArgs, target, platform and secrets for that file.

Options:
  --base NAME=REF        a local image, tagged NAME for both builders, so that
                         FROM NAME uses it (repeatable); REF is oci:DIR[:TAG],
                         oci-archive:FILE[:TAG] or docker-archive:FILE.
                         Example: --base busybox=oci:./layouts/busybox:latest
  --build-arg K=V        passed to every build (repeatable)
  --exceptions FILE      known differences: lines "PATH: reason", PATH being a
                         file or folder relative to the DIR given (default:
                         DIR/${EXCEPTIONS_NAME} when present). Listed cases
                         are reported, not counted as differing.
  --lading CMD           the lading CLI (default: this repository's bin/lading.js)
  --buildah PATH         the buildah binary (default: buildah on PATH)
  --jobs N               files built at once (default 1); the lines still come
                         out in file order
  --no-fail              exit 0 even when builds differ
  --keep                 keep the work folder (images, stores) and print it
  -h, --help             this text

Exit code: 0 when every build gives the same result (or a listed difference),
1 when some differ, 2 when the run itself could not be done.`;

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { dirs: [], bases: [], buildArgs: [], exceptions: undefined, lading: join(REPO, "bin", "lading.js"), buildah: "buildah", jobs: 1, noFail: false, keep: false, help: false };
  const value = (i, flag) => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) [a, inline] = [a.slice(0, eq), a.slice(eq + 1)];
    const v = (flag) => inline ?? value(++i, flag);
    switch (a) {
      case "-h": case "--help": o.help = true; break;
      case "--base": {
        const s = v(a);
        const k = s.indexOf("=");
        if (k <= 0 || !/^(oci|oci-archive|docker-archive):./.test(s.slice(k + 1))) throw new UsageError(`--base ${s}: expected NAME=oci:DIR[:TAG] (or oci-archive:FILE, docker-archive:FILE)`);
        o.bases.push({ name: s.slice(0, k), ref: s.slice(k + 1) });
        break;
      }
      case "--build-arg": {
        const s = v(a);
        if (!/^[^=]+=/.test(s)) throw new UsageError(`--build-arg ${s}: expected KEY=VALUE`);
        o.buildArgs.push(s);
        break;
      }
      case "--exceptions": o.exceptions = v(a); break;
      case "--lading": o.lading = v(a); break;
      case "--buildah": o.buildah = v(a); break;
      case "--jobs": {
        const s = v(a);
        if (!/^[1-9]\d*$/.test(s)) throw new UsageError(`--jobs ${s}: expected a whole number of at least 1`);
        o.jobs = Number(s);
        break;
      }
      case "--no-fail": o.noFail = true; break;
      case "--keep": o.keep = true; break;
      default:
        if (a.startsWith("-")) throw new UsageError(`unknown option ${a} (see --help)`);
        o.dirs.push(a);
    }
  }
  if (!o.help && o.dirs.length === 0) throw new UsageError("give at least one DIR to look for Containerfiles in (see --help)");
  return o;
}

const isBuildFile = (n) => /^(Containerfile|Dockerfile)$/.test(n) || /\.(Containerfile|Dockerfile)$/.test(n) || /^(Containerfile|Dockerfile)\.[^/]+$/.test(n) && !/\.(dockerignore|containerignore)$/.test(n);

function findBuildFiles(dir) {
  const out = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      if (d.name !== ".git" && d.name !== "node_modules" && d.name !== "context") out.push(...findBuildFiles(p));
    } else if (d.isFile() && isBuildFile(d.name)) out.push(p);
  }
  return out;
}

/** Map of relative path or folder → reason. */
function readExceptions(file) {
  const out = new Map();
  readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith("#")) return;
    const colon = t.indexOf(": ");
    if (colon <= 0) throw new UsageError(`${file}:${i + 1}: expected "PATH: reason"`);
    out.set(t.slice(0, colon).replace(/\/+$/, ""), t.slice(colon + 2));
  });
  return out;
}

function exceptionFor(exceptions, rel) {
  for (const [path, reason] of exceptions) if (rel === path || rel.startsWith(path + "/")) return { path, reason };
  return undefined;
}

/** Runs a command, resolving to { code, out } (stdout and stderr together, for the first error line). */
function exec(cmd, args, opts = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", (e) => resolvePromise({ code: 127, out: e.message }));
    child.on("close", (code, sig) => resolvePromise({ code: code ?? 128, out: out + (sig ? ` (${sig})` : "") }));
  });
}

function mustRun(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${args.join(" ")} failed (${r.status ?? r.error?.message}): ${(r.stderr || r.stdout || "").trim()}`);
  return r.stdout;
}

function lastErrorLine(out) {
  const lines = out.split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.filter((l) => /error|fail|lading:/i.test(l)).pop() ?? lines.pop() ?? "").slice(0, 300);
}

/** Empty values count as unset: buildah and lading spell "none" differently ("", [], {}, null, absent). */
function normalise(v) {
  if (v === undefined || v === null || v === "") return undefined;
  if (Array.isArray(v) && v.length === 0) return undefined;
  if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) return undefined;
  return v;
}

/** What buildah's runtime leaves behind in its images (the empty mount points of its RUN containers) and BuildKit and lading do not. */
const BUILDAH_RUN_STUBS = new Set(["dev", "proc", "sys", "run", "etc/hostname", "etc/hosts", "etc/resolv.conf"]);
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function differences(lading, buildah) {
  const out = [];
  const l = lading.files;
  const b = new Map([...buildah.files].filter(([k, v]) => !(BUILDAH_RUN_STUBS.has(k) && !l.has(k) && (v.startsWith("dir ") || v.endsWith(EMPTY_SHA256)))));
  for (const k of [...new Set([...l.keys(), ...b.keys()])].sort()) {
    if (l.get(k) !== b.get(k)) out.push(`file /${k}: lading=${l.get(k) ?? "absent"} buildah=${b.get(k) ?? "absent"}`);
  }
  for (const f of Object.keys(lading.config)) {
    let lv = lading.config[f];
    let bv = buildah.config[f];
    if (f === "Labels" && bv) {
      bv = { ...bv };
      delete bv["io.buildah.version"];
    }
    [lv, bv] = [normalise(lv), normalise(bv)];
    if (JSON.stringify(lv) !== JSON.stringify(bv)) out.push(`config ${f}: lading=${JSON.stringify(lv) ?? "unset"} buildah=${JSON.stringify(bv) ?? "unset"}`);
  }
  return out;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`compat: ${e.message}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const cases = [];
  for (const d of o.dirs) {
    if (!existsSync(d) || !statSync(d).isDirectory()) {
      console.error(`compat: ${d} is not a directory`);
      return 2;
    }
    const exFile = o.exceptions ?? (existsSync(join(d, EXCEPTIONS_NAME)) ? join(d, EXCEPTIONS_NAME) : undefined);
    const exceptions = exFile ? readExceptions(exFile) : new Map();
    for (const file of findBuildFiles(resolve(d))) cases.push({ file, rel: relative(resolve(d), file), exception: exceptionFor(exceptions, relative(resolve(d), file)) });
  }
  const version = spawnSync(o.buildah, ["--version"], { encoding: "utf8" });
  if (version.status !== 0) {
    console.error(`compat: buildah is needed as the reference and ${o.buildah} does not run (${version.error?.message ?? version.stderr.trim()}): install it (Debian: apt-get install buildah) or give --buildah PATH`);
    return 2;
  }
  if (o.bases.length && spawnSync("skopeo", ["--version"]).status !== 0) {
    console.error("compat: --base needs skopeo (it puts the image into buildah's storage): install it (Debian: apt-get install skopeo)");
    return 2;
  }
  const root = process.getuid?.() === 0;
  const work = mkdtempSync(join(tmpdir(), "lading-compat-"));
  const bRoot = join(work, "buildah");
  // buildah keeps a blob cache in TMPDIR: inside the work folder, it goes with it.
  mkdirSync(join(work, "tmp"));
  process.env.TMPDIR = join(work, "tmp");
  // buildah's own storage under the work folder, vfs (works as root and rootless, no overlay mounts to clean up).
  const buildahBase = [o.buildah, "--root", join(bRoot, "root"), "--runroot", join(bRoot, "run"), "--storage-driver", "vfs"];
  // As root: runc (crun refuses some hosts' hybrid cgroups); rootless: chroot isolation, which needs no runtime in a user namespace.
  const isolation = root ? ["--runtime", "runc"] : ["--isolation", "chroot"];
  const ladingCmd = o.lading.endsWith(".js") || o.lading.endsWith(".mjs") ? [process.execPath, o.lading] : [o.lading];
  const store = join(work, "lading-store");
  let differ = 0;
  let same = 0;
  let known = 0;
  try {
    mkdirSync(bRoot, { mode: 0o700 });
    for (const [i, base] of o.bases.entries()) {
      // lading: a build of "FROM REF" tagged NAME puts the image in its store under that name.
      const ctx = join(work, `base-${i}`);
      mkdirSync(ctx);
      writeFileSync(join(ctx, "Containerfile"), `FROM ${base.ref}\n`);
      mustRun(ladingCmd[0], [...ladingCmd.slice(1), "build", "--store", store, "--progress", "quiet", "-t", base.name, ctx], `tagging ${base.ref} as ${base.name} for lading`);
      // skopeo names it on the way in (buildah pull would name it after the path, which must then be lower-case);
      // rootless, inside buildah's user namespace, where its storage's owners exist.
      const dest = `containers-storage:[vfs@${join(bRoot, "root")}+${join(bRoot, "run")}]${dockerName(base.name)}`;
      const copy = ["skopeo", "copy", "-q", base.ref, dest];
      if (root) mustRun(copy[0], copy.slice(1), `putting ${base.ref} into buildah's storage`);
      else mustRun(o.buildah, ["unshare", ...copy], `putting ${base.ref} into buildah's storage`);
    }
    // Each case's lines, printed in case order as soon as the cases before it are done.
    const outputs = [];
    let printed = 0;
    const flush = () => {
      for (; printed < cases.length && outputs[printed] !== undefined; printed++) for (const l of outputs[printed]) console.log(l);
    };
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const n = next++;
        const c = cases[n];
        const lines = await compareCase(n, c);
        const out = [];
        if (lines.length === 0) {
          same++;
          if (c.exception) out.push(`${c.rel}: same result, though listed as a known difference (${c.exception.path}: ${c.exception.reason})`);
        } else if (c.exception) {
          known++;
          out.push(`${c.rel}: known difference (${c.exception.reason}); ${lines.length} line${lines.length === 1 ? "" : "s"} not shown`);
        } else {
          differ++;
          out.push(...lines.map((l) => `${c.rel}: ${l}`));
        }
        outputs[n] = out;
        flush();
      }
    };
    /** Builds case `n` with both builders and gives its differences (none: the same result). */
    const compareCase = async (n, c) => {
      const caseDir = join(work, `case-${n}`);
      mkdirSync(caseDir);
      const opts = caseOptions(c.file, caseDir);
      const context = existsSync(join(dirname(c.file), "context")) ? join(dirname(c.file), "context") : dirname(c.file);
      // buildah writes through some mounts (rw binds, U) into the context: it gets a copy.
      const bContext = join(caseDir, "buildah-context");
      if (existsSync(context)) cpSync(context, bContext, { recursive: true, verbatimSymlinks: true });
      else mkdirSync(bContext);
      const common = [...o.buildArgs, ...opts.buildArgs].flatMap((a) => ["--build-arg", a]);
      if (opts.target) common.push("--target", opts.target);
      if (opts.platform) common.push("--platform", opts.platform);
      for (const s of opts.secrets) common.push("--secret", s);
      const lOut = join(caseDir, "lading");
      const bOut = join(caseDir, "buildah");
      const tag = `localhost/compat-${n}:latest`;
      const [lr, br] = await Promise.all([
        exec(ladingCmd[0], [...ladingCmd.slice(1), "build", "--store", store, "--progress", "plain", ...common, "-f", c.file, "-o", `type=oci-layout,dest=${lOut},name=t`, existsSync(context) ? context : bContext]),
        exec(buildahBase[0], [...buildahBase.slice(1), "bud", "-q", "--layers=false", "--pull=never", ...isolation, ...common, "-f", c.file, "-t", tag, bContext]),
      ]);
      const lines = [];
      if ((lr.code === 0) !== (br.code === 0)) {
        lines.push(lr.code === 0 ? `builds with lading, fails with buildah: ${lastErrorLine(br.out)}` : `fails with lading, builds with buildah: ${lastErrorLine(lr.out)}`);
      } else if (lr.code === 0) {
        const pushed = await exec(buildahBase[0], [...buildahBase.slice(1), "push", "-q", tag, `oci:${bOut}:t`]);
        if (pushed.code !== 0) throw new Error(`exporting buildah's image of ${c.rel}: ${lastErrorLine(pushed.out)}`);
        lines.push(...differences(await readImage(lOut, "t"), await readImage(bOut, "t")));
      }
      if (!o.keep) rmSync(caseDir, { recursive: true, force: true });
      return lines;
    };
    await Promise.all(Array.from({ length: Math.min(o.jobs, cases.length) }, worker));
  } finally {
    if (o.keep) console.log(`work folder kept: ${work}`);
    else removeWork(work, bRoot, buildahBase);
  }
  console.log(`${cases.length} files, ${same} same result, ${differ} differ${known ? ` (and ${known} known difference${known === 1 ? "" : "s"}, listed with the reason)` : ""}`);
  return differ > 0 && !o.noFail ? 1 : 0;
}

/** docker's normalised form, under which both builders look a short name up: busybox → docker.io/library/busybox:latest. */
function dockerName(name) {
  let n = name;
  const slash = n.indexOf("/");
  const first = slash < 0 ? "" : n.slice(0, slash);
  if (slash < 0 || !(first.includes(".") || first.includes(":") || first === "localhost")) n = `docker.io/${slash < 0 ? "library/" : ""}${n}`;
  if (!/:[^/]+$/.test(n) && !n.includes("@")) n += ":latest";
  return n;
}

/** Build args, target, platform and secrets from an expect.json beside the file (lading's fixture format). */
function caseOptions(file, caseDir) {
  const p = join(dirname(file), "expect.json");
  const want = basename(file) === "Containerfile" && existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : {};
  const secrets = Object.entries(want.secrets ?? {}).map(([id, value], i) => {
    const f = join(caseDir, `secret-${i}`);
    writeFileSync(f, value, { mode: 0o600 });
    return `id=${id},src=${f}`;
  });
  return { buildArgs: Object.entries(want.buildArgs ?? {}).map(([k, v]) => `${k}=${v}`), target: want.target, platform: want.platform, secrets };
}

/** Rootless, buildah's storage holds files of subordinate ids that only its user namespace may remove. */
function removeWork(work, bRoot, buildahBase) {
  if (process.getuid?.() !== 0 && existsSync(bRoot)) spawnSync(buildahBase[0], ["unshare", "rm", "-rf", bRoot], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`compat: ${err.message}`);
    process.exitCode = 2;
  },
);
