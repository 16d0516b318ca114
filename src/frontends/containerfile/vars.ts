/**
 * The variables an instruction's words are expanded with, and the rules
 * for build args: ENV wins over ARG of the same name; ARGs before the first
 * FROM are visible only to FROM lines unless a stage redeclares them.
 *
 * Missing build args: an ARG declared without a default and never given
 * expands to the empty string, as in docker and buildah (Containerfiles
 * written for them rely on it: `ARG FOO` then `ENV FOO=${FOO}`). Where a
 * plain `$NAME` / `${NAME}` in a word the frontend expands reads one, the
 * build is told once per name (`onEmptyArg`), since a forgotten
 * `--build-arg` is the usual cause; `${NAME:-x}`, `${NAME+x}` and RUN
 * commands (expanded by the shell) say nothing.
 */
import { ContainerfileError } from "../../errors.js";
import { processWord, processWords, ShellLexError, type ShellEnv } from "./shell-lex.js";

/** Names docker defines for every build, from the target and build platforms. */
export function predefinedArgs(target: string, build: string): Map<string, string> {
  const m = new Map<string, string>();
  const put = (prefix: string, p: string) => {
    const [os = "linux", arch = "amd64", variant = ""] = p.split("/");
    m.set(`${prefix}PLATFORM`, p);
    m.set(`${prefix}OS`, os);
    m.set(`${prefix}ARCH`, arch);
    m.set(`${prefix}VARIANT`, variant);
  };
  put("TARGET", target);
  put("BUILD", build);
  return m;
}

/** Hears that build arg `name` was read with no value, at `file:line` in `keyword`. */
export type EmptyArgListener = (name: string, file: string, line: number, keyword: string) => void;

export class Vars {
  /** Image config env, in order. */
  readonly env: Map<string, string>;
  /** Declared ARGs; undefined = declared without default and not given. */
  readonly args: Map<string, string | undefined>;
  private readonly onEmptyArg?: EmptyArgListener;

  constructor(env: Map<string, string> = new Map(), args: Map<string, string | undefined> = new Map(), onEmptyArg?: EmptyArgListener) {
    this.env = env;
    this.args = args;
    this.onEmptyArg = onEmptyArg;
  }

  clone(): Vars {
    return new Vars(new Map(this.env), new Map(this.args), this.onEmptyArg);
  }

  /** The shell view for an instruction at `file:line`. */
  shellEnv(file: string, line: number, keyword: string): ShellEnv {
    return {
      get: (n) => this.env.get(n) ?? this.args.get(n),
      onUnset: (n) => {
        if (this.args.has(n) && this.args.get(n) === undefined && !this.env.has(n)) this.onEmptyArg?.(n, file, line, keyword);
      },
    };
  }

  /** Expands one word, turning lexer errors into located ContainerfileErrors. */
  expand(word: string, file: string, line: number, keyword: string, escape: string): string {
    try {
      return processWord(word, this.shellEnv(file, line, keyword), { escape });
    } catch (err) {
      if (err instanceof ShellLexError) throw new ContainerfileError(file, line, `${keyword}: ${err.message} in "${word}"`, { cause: err });
      throw err;
    }
  }

  /** Expands one word with word splitting (EXPOSE: `EXPOSE $PORTS` may give several ports). */
  expandWords(word: string, file: string, line: number, keyword: string, escape: string): string[] {
    try {
      return processWords(word, this.shellEnv(file, line, keyword), { escape });
    } catch (err) {
      if (err instanceof ShellLexError) throw new ContainerfileError(file, line, `${keyword}: ${err.message} in "${word}"`, { cause: err });
      throw err;
    }
  }

  /** ARG values that RUN commands see (those not shadowed by ENV), in order. */
  runArgs(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, v] of this.args) if (v !== undefined && !this.env.has(k)) out.push([k, v]);
    return out;
  }
}
