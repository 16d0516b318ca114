/**
 * Typed instructions: each logical line checked the way docker's
 * instructions/parse.go checks it (argument counts, allowed flags, forms),
 * so malformed files fail at parse time with `file:line: KEYWORD: …`.
 * Values stay unexpanded here; expansion needs the build's variables.
 */
import { ContainerfileError } from "../../errors.js";
import type { Heredoc, LogicalLine } from "./lines.js";
import { heredocName } from "./lines.js";
import { extractFlags, parseDuration, parseJsonForm, parseWords, type Flag } from "./words.js";
import { editDistance } from "../../fsutil/closest-names.js";

interface Base {
  line: number;
  endLine: number;
  /** The instruction as written, one line (`RUN apt-get update`), for progress and history. */
  text: string;
}

/** A command in exec (JSON) form or shell form. */
export type Command = { exec: string[] } | { shell: string };

export type Instruction = Base &
  (
    | { kind: "FROM"; image: string; stageName?: string; platform?: string }
    | { kind: "ARG"; args: Array<{ name: string; default?: string }> }
    | { kind: "ENV" | "LABEL"; pairs: Array<{ key: string; value: string }> }
    | {
        kind: "COPY" | "ADD";
        /** Sources as written; a heredoc source is `<<NAME`. */
        sources: string[];
        dest: string;
        heredocs: Heredoc[];
        from?: string;
        chown?: string;
        chmod?: string;
        exclude: string[];
        checksum?: string;
        /** ADD of a git repository: keep its `.git` (`--keep-git-dir`). */
        keepGitDir?: boolean;
      }
    | { kind: "RUN"; command: Command; heredocs: Heredoc[]; mounts: string[]; network?: string; security?: string }
    | { kind: "CMD" | "ENTRYPOINT"; command: Command }
    | { kind: "WORKDIR" | "USER" | "STOPSIGNAL"; value: string }
    | { kind: "EXPOSE" | "VOLUME"; values: string[] }
    | { kind: "SHELL"; args: string[] }
    | { kind: "HEALTHCHECK"; command?: Command; interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number }
    | { kind: "ONBUILD"; trigger: string }
    | { kind: "MAINTAINER"; value: string }
  );

const FLAGS: Record<string, readonly string[]> = {
  FROM: ["platform"],
  COPY: ["from", "chown", "chmod", "link", "exclude", "parents"],
  ADD: ["chown", "chmod", "link", "exclude", "checksum", "keep-git-dir"],
  RUN: ["mount", "network", "security"],
  HEALTHCHECK: ["interval", "timeout", "start-period", "start-interval", "retries"],
};

export const KEYWORDS = new Set([
  "FROM", "ARG", "ENV", "LABEL", "COPY", "ADD", "RUN", "CMD", "ENTRYPOINT", "WORKDIR", "USER",
  "STOPSIGNAL", "EXPOSE", "VOLUME", "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER",
]);

/** A boolean flag: `--x` or `--x=true` is true, `--x=false` or no flag false. */
function boolFlag(value: string | undefined, given: boolean, name: string, fail: (m: string) => never): boolean {
  if (!given) return false;
  if (value === undefined || value === "true") return true;
  if (value === "false") return false;
  return fail(`--${name}=${value}: use true or false`);
}

const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseInstruction(l: LogicalLine, file: string, escape: string): Instruction {
  const fail = (msg: string): never => {
    throw new ContainerfileError(file, l.line, `${l.keyword}: ${msg}`);
  };
  if (!KEYWORDS.has(l.keyword)) throw new ContainerfileError(file, l.line, `unknown instruction: ${l.keywordAsWritten}${suggestion(l.keyword)}`);
  const { flags, args } = extractFlags(l.rest);
  const allowed = FLAGS[l.keyword] ?? [];
  for (const f of flags) if (!allowed.includes(f.name)) fail(`unknown flag: --${f.name}${allowed.length ? ` (allowed: ${allowed.map((a) => "--" + a).join(", ")})` : ""}`);
  const one = (name: string): string | undefined => {
    const fs = flags.filter((f) => f.name === name);
    if (fs.length > 1) fail(`--${name} was given more than once`);
    const f = fs[0];
    if (f && f.value === undefined && name !== "link" && name !== "keep-git-dir" && name !== "parents") fail(`--${name} needs a value (--${name}=…)`);
    return f?.value;
  };
  const all = (name: string): string[] => flags.filter((f: Flag) => f.name === name).map((f) => f.value ?? fail(`--${name} needs a value`));
  const text = `${l.keyword} ${l.rest.split("\n")[0]}`.trim();
  const base: Base = { line: l.line, endLine: l.endLine, text };
  const command = (): Command => {
    const exec = parseJsonForm(args);
    return exec ? { exec } : { shell: args };
  };

  switch (l.keyword) {
    case "FROM": {
      const w = args.split(/\s+/).filter(Boolean);
      if (w.length !== 1 && !(w.length === 3 && w[1]!.toUpperCase() === "AS")) fail("requires either one or three arguments (FROM image [AS name])");
      const stageName = w[2]?.toLowerCase();
      if (stageName !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(stageName)) fail(`invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
      return { ...base, kind: "FROM", image: w[0]!, stageName, platform: one("platform") };
    }
    case "ARG": {
      const words = parseWords(args, escape);
      if (!words.length) fail("requires at least one argument (ARG name[=default])");
      return {
        ...base,
        kind: "ARG",
        args: words.map((w) => {
          const eq = w.indexOf("=");
          const name = eq < 0 ? w : w.slice(0, eq);
          if (!ARG_NAME.test(name)) fail(`invalid name "${name}": use letters, digits and "_"`);
          return eq < 0 ? { name } : { name, default: w.slice(eq + 1) };
        }),
      };
    }
    case "ENV":
    case "LABEL": {
      const words = parseWords(args, escape);
      if (!words.length) fail("requires at least one argument (name=value)");
      let pairs: Array<{ key: string; value: string }>;
      if (!words[0]!.includes("=")) {
        // Legacy form: `ENV key value with spaces`.
        if (words.length < 2) fail(`must have two arguments: "${words[0]}" has no value (use ${l.keyword} ${words[0]}=value)`);
        const key = words[0]!;
        pairs = [{ key, value: args.trimStart().slice(key.length).trim() }];
      } else {
        pairs = words.map((w) => {
          const eq = w.indexOf("=");
          if (eq < 0) fail(`can't find = in "${w}"; must be of the form name=value`);
          if (eq === 0) fail(`"${w}" has an empty name; must be of the form name=value`);
          return { key: w.slice(0, eq), value: w.slice(eq + 1) };
        });
      }
      return { ...base, kind: l.keyword, pairs };
    }
    case "COPY":
    case "ADD": {
      const json = parseJsonForm(args);
      const list = json ?? args.split(/\s+/).filter(Boolean);
      if (list.length === 0) fail("no source files were specified");
      if (list.length === 1) fail(`requires at least two arguments (sources and a destination), but only "${list[0]}" was given`);
      const sources = list.slice(0, -1);
      const docs = new Map(l.heredocs.map((h) => [h.name, h]));
      const heredocs: Heredoc[] = [];
      for (const s of sources) {
        const name = json ? undefined : heredocName(s);
        if (name !== undefined) heredocs.push(docs.get(name) ?? fail(`heredoc ${s} has no body`));
      }
      if (flags.some((f) => f.name === "parents")) fail("--parents is not supported by lading; copy each directory with its own COPY");
      const from = l.keyword === "COPY" ? one("from") : undefined;
      if (from === "") fail("--from needs a stage name or an image");
      const checksum = l.keyword === "ADD" ? one("checksum") : undefined;
      if (checksum !== undefined && !sources.every((s) => /^[a-z]+:\/\//i.test(s))) fail("--checksum can only be used with a URL source");
      return {
        ...base,
        kind: l.keyword,
        sources,
        dest: list[list.length - 1]!,
        heredocs,
        from,
        chown: one("chown"),
        chmod: one("chmod"),
        exclude: all("exclude"),
        checksum,
        ...(l.keyword === "ADD" ? { keepGitDir: boolFlag(one("keep-git-dir"), flags.some((f) => f.name === "keep-git-dir"), "keep-git-dir", fail) } : {}),
      };
    }
    case "RUN": {
      if (!args.trim()) fail("requires at least one argument (the command)");
      const network = one("network");
      if (network !== undefined && !["none", "host", "default"].includes(network)) fail(`--network=${network} is not supported: use none, host or default`);
      const security = one("security");
      if (security !== undefined && !["sandbox", "insecure"].includes(security)) fail(`--security=${security} is not supported: use sandbox or insecure`);
      const cmd = command();
      if ("exec" in cmd && cmd.exec.length === 0) fail("requires at least one argument (the command)");
      return { ...base, kind: "RUN", command: cmd, heredocs: l.heredocs, mounts: all("mount"), network, security };
    }
    case "CMD":
    case "ENTRYPOINT":
      return { ...base, kind: l.keyword, command: command() };
    case "WORKDIR":
    case "USER":
    case "STOPSIGNAL": {
      if (!args.trim()) fail(`requires exactly one argument`);
      return { ...base, kind: l.keyword, value: args.trim() };
    }
    case "EXPOSE":
    case "VOLUME": {
      const values = (l.keyword === "VOLUME" ? parseJsonForm(args) : undefined) ?? args.split(/\s+/).filter(Boolean);
      if (!values.length || values.some((v) => v.trim() === "")) fail("requires at least one argument");
      return { ...base, kind: l.keyword, values };
    }
    case "SHELL": {
      const json = parseJsonForm(args);
      if (!json) fail('requires the arguments to be in JSON form (SHELL ["/bin/sh", "-c"])');
      if (json!.length === 0) fail("requires at least one argument");
      return { ...base, kind: "SHELL", args: json! };
    }
    case "HEALTHCHECK":
      return parseHealthcheck(base, args, one, fail);
    case "MAINTAINER":
      // docker takes the rest of the line as the one argument, unexpanded.
      if (!args.trim()) fail("requires exactly one argument (MAINTAINER name)");
      return { ...base, kind: "MAINTAINER", value: args.trim() };
    case "ONBUILD": {
      const trigger = args.trim();
      const m = /^(\S+)/.exec(trigger);
      if (!m) fail("requires an instruction to run later (ONBUILD RUN …)");
      const sub = m![1]!.toUpperCase();
      if (sub === "ONBUILD") fail("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (sub === "FROM" || sub === "MAINTAINER") fail(`${sub} isn't allowed as an ONBUILD trigger`);
      if (!KEYWORDS.has(sub)) fail(`unknown instruction: ${m![1]}`);
      // As BuildKit records it: the trigger as written, heredoc bodies appended.
      const withDocs = trigger + l.heredocs.map((h) => "\n" + h.content + h.name).join("");
      return { ...base, kind: "ONBUILD", trigger: withDocs };
    }
  }
  return fail("unknown instruction");
}

/** " (did you mean COPY?)" for a near miss, as BuildKit suggests; "" when nothing is close. */
function suggestion(word: string): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of KEYWORDS) {
    const d = editDistance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? ` (did you mean ${best}?)` : "";
}

function parseHealthcheck(
  base: Base,
  args: string,
  one: (n: string) => string | undefined,
  fail: (m: string) => never,
): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(args.trim());
  if (!m) fail("requires an argument: NONE or CMD …");
  const type = m![1]!.toUpperCase();
  if (type === "NONE") {
    if (m![2]) fail("HEALTHCHECK NONE takes no arguments");
    return { ...base, kind: "HEALTHCHECK" };
  }
  if (type !== "CMD") fail(`unknown type ${m![1]} (try CMD or NONE)`);
  const rest = m![2]!;
  if (!rest) fail("CMD needs a command");
  const exec = parseJsonForm(rest);
  const duration = (name: string): number | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    const d = parseDuration(v);
    if (d === undefined) fail(`--${name}=${v} is not a duration (e.g. 30s, 1m30s)`);
    if (d! !== 0 && d! < 1e6) fail(`--${name} cannot be less than 1ms`);
    return d;
  };
  const retriesRaw = one("retries");
  let retries: number | undefined;
  if (retriesRaw !== undefined) {
    if (!/^\d+$/.test(retriesRaw)) fail(`--retries=${retriesRaw} is not a whole number`);
    retries = Number(retriesRaw);
    if (retries < 1) fail(`--retries must be at least 1 (not ${retries})`);
  }
  return {
    ...base,
    kind: "HEALTHCHECK",
    command: exec ? { exec } : { shell: rest },
    interval: duration("interval"),
    timeout: duration("timeout"),
    startPeriod: duration("start-period"),
    startInterval: duration("start-interval"),
    retries,
  };
}
