/**
 * Shell word expansion as BuildKit's Dockerfile lexer does it
 * (moby/buildkit frontend/dockerfile/shell/lex.go): quote removal, the
 * escape token, `$VAR`, `${VAR}` and the modifiers `-`, `:-`, `+`, `:+`,
 * `?`, `:?`, `#`, `##`, `%`, `%%`, `/`, `//`. A port of that state machine,
 * checked against BuildKit's own test vectors (test/frontends/shell-lex.test.ts).
 */

/** Variables visible to an expansion. */
export interface ShellEnv {
  /** The value, or undefined when the variable is not set. */
  get(name: string): string | undefined;
  /**
   * Called when a plain `$NAME` / `${NAME}` reads an unset variable (not for
   * the `-`, `+`, `?` forms, which handle unset on purpose). May throw: the
   * frontend uses it to refuse ARGs declared without a default and never given.
   */
  onUnset?(name: string): void;
}

export interface LexOptions {
  /** The escape token: "\\" (default) or "`" (the `# escape=` directive). */
  escape?: string;
  /** Keep quote characters in the result (heredoc bodies). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result. */
  rawEscapes?: boolean;
}

/** A malformed word (unterminated quote, bad substitution, `${X:?}` on unset X). */
export class ShellLexError extends Error {}

export const EMPTY_ENV: ShellEnv = { get: () => undefined };

export function mapEnv(vars: Record<string, string> | Map<string, string>): ShellEnv {
  const m = vars instanceof Map ? vars : new Map(Object.entries(vars));
  return { get: (n) => m.get(n) };
}

/**
 * Expands a heredoc body whose delimiter was not quoted, as a shell expands
 * an unquoted here-document: `$VAR` and `${…}` are replaced, quotes are
 * ordinary characters, and the escape token only escapes `$`, itself and a
 * newline (which it removes); elsewhere it stays as written.
 */
export function processHeredoc(body: string, env: ShellEnv, opts: LexOptions = {}): string {
  return new ShellWord(body, env, opts).heredoc();
}

/** Expands and unquotes `word` into one string (ENV values, COPY paths, WORKDIR…). */
export function processWord(word: string, env: ShellEnv, opts: LexOptions = {}): string {
  return new ShellWord(word, env, opts).process().word;
}

/** Expands `word` and splits unquoted expansions on whitespace, as the shell does. */
export function processWords(word: string, env: ShellEnv, opts: LexOptions = {}): string[] {
  return new ShellWord(word, env, opts).process().words;
}

/** Collects the word-split view alongside the plain result (BuildKit's wordsStruct). */
class Words {
  word = "";
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else this.addRawChar(ch);
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  done(): string[] {
    if (this.word.length) {
      this.words.push(this.word);
      this.word = "";
      this.inWord = false;
    }
    return this.words;
  }
}

const EOF = "";

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private readonly escape: string;
  private readonly rawQuotes: boolean;
  private readonly rawEscapes: boolean;

  constructor(
    source: string,
    private readonly env: ShellEnv,
    opts: LexOptions,
  ) {
    this.chars = Array.from(source);
    this.escape = opts.escape ?? "\\";
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  private next(): string {
    const c = this.chars[this.pos] ?? EOF;
    if (c !== EOF) this.pos++;
    return c;
  }

  heredoc(): string {
    let result = "";
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (ch === "$") {
        result += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const n = this.peek();
        if (n === "\n") {
          this.next();
          continue;
        }
        if (n === "$" || n === this.escape) {
          result += this.next();
          continue;
        }
      }
      result += ch;
    }
    return result;
  }

  process(): { word: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string, rawEscapes: boolean): { word: string; words: string[] } {
    let result = "";
    const words = new Words();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { word: result, words: words.done() };
      }
      if (ch === "'" || ch === '"' || ch === "$") {
        const tmp = ch === "'" ? this.singleQuote() : ch === '"' ? this.doubleQuote() : this.dollar();
        result += tmp;
        if (ch === "$") words.addString(tmp);
        else words.addRawString(tmp);
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        if (rawEscapes) {
          words.addRawChar(c);
          result += c;
        }
        c = this.next();
        if (c === EOF) break; // an escape at the end of the word is dropped
        words.addRawChar(c);
      } else words.addChar(c);
      result += c;
    }
    if (stop !== EOF) throw new ShellLexError(`unexpected end of statement while looking for matching ${stop}`);
    return { word: result, words: words.done() };
  }

  /** Everything up to the next ' is literal; nothing can be escaped. */
  private singleQuote(): string {
    let result = "";
    const open = this.next();
    if (this.rawQuotes) result += open;
    for (;;) {
      const c = this.next();
      if (c === EOF) throw new ShellLexError("unexpected end of statement while looking for matching single-quote");
      if (c === "'") {
        if (this.rawQuotes) result += c;
        return result;
      }
      result += c;
    }
  }

  /** Literal except `$…` and the escape token before `"`, `$` or itself. */
  private doubleQuote(): string {
    let result = "";
    const open = this.next();
    if (this.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellLexError("unexpected end of statement while looking for matching double-quote");
      if (p === '"') {
        const c = this.next();
        if (this.rawQuotes) result += c;
        return result;
      }
      if (p === "$") {
        result += this.dollar();
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        if (this.rawEscapes) result += c;
        const n = this.peek();
        if (n === EOF) continue;
        if (n === '"' || n === "$" || n === this.escape) c = this.next();
      }
      result += c;
    }
  }

  private dollar(): string {
    this.next(); // "$"
    if (this.peek() !== "{") {
      const name = this.name();
      if (name === "") return "$";
      return this.lookup(name, true) ?? "";
    }
    this.next(); // "{"
    const first = this.peek();
    if (first === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new ShellLexError("syntax error: bad substitution");
    const name = this.name();
    let ch = this.next();
    let modifier = ch;
    if (ch === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (ch === "}") return this.lookup(name, true) ?? "";
    if (ch === "/") return this.substitute(name);
    let nullIsUnset = false;
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (!["+", "-", "?", "#", "%"].includes(ch)) throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    const trims = ch === "#" || ch === "%";
    if (nullIsUnset && trims) throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    let word: string;
    try {
      word = this.processStopOn("}", trims).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
      throw err;
    }
    const value = this.lookup(name, false);
    const set = value !== undefined;
    switch (ch) {
      case "-":
        return !set || (nullIsUnset && value === "") ? word : value;
      case "+":
        return !set || (nullIsUnset && value === "") ? "" : word;
      case "?":
        if (!set) throw new ShellLexError(`${name}: ${word || "is not allowed to be unset"}`);
        if (nullIsUnset && value === "") throw new ShellLexError(`${name}: ${word || "is not allowed to be empty"}`);
        return value;
      default: {
        // "#"/"%" trim the shortest match, "##"/"%%" the longest.
        let pattern = word;
        let greedy = false;
        if (pattern.startsWith(ch)) {
          greedy = true;
          pattern = pattern.slice(1);
        }
        return ch === "%" ? trimSuffix(pattern, value ?? "", greedy) : trimPrefix(pattern, value ?? "", greedy);
      }
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private substitute(name: string): string {
    const all = this.peek() === "/";
    if (all) this.next();
    let pattern: string;
    let replacement: string;
    try {
      pattern = this.processStopOn("/", true).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      replacement = this.processStopOn("}", true).word;
    } catch (err) {
      if (this.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
      throw err;
    }
    const value = this.lookup(name, false) ?? "";
    const re = shellPatternToRegExp(pattern, true, all ? "g" : "");
    return value.replace(re, () => replacement);
  }

  private lookup(name: string, plain: boolean): string | undefined {
    const v = this.env.get(name);
    if (v === undefined && plain) this.env.onUnset?.(name);
    return v;
  }

  /** A name: letters, digits, "_"; or all leading digits; or one special parameter. */
  private name(): string {
    let name = "";
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === "" && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name === "" && "@*#?-$!0".includes(ch)) return this.next();
      if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }
}

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

/** A shell glob (`*`, `?`, `[…]`, `\x`) as a regular expression, as BuildKit's convertShellPatternToRegex. */
function shellPatternToRegExp(pattern: string, greedy: boolean, flags: string): RegExp {
  let re = "";
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") re += greedy ? "[\\s\\S]*" : "[\\s\\S]*?";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      const end = chars.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = chars.slice(i + 1, end).join("");
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < chars.length) re += escapeRe(chars[++i]!);
    else re += escapeRe(c);
  }
  return new RegExp(re, flags);
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(c) ? "\\" + c : c;
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegExp(pattern, greedy, "");
  const m = new RegExp(`^(?:${re.source})`).exec(value);
  return m ? value.slice(m[0].length) : value;
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // The shortest suffix is the match that starts last; the longest, the one that starts first.
  const re = new RegExp(`^(?:${shellPatternToRegExp(pattern, true, "").source})$`);
  const chars = Array.from(value);
  const starts = chars.map((_, i) => i).concat(chars.length);
  const order = greedy ? starts : starts.reverse();
  for (const i of order) {
    if (re.test(chars.slice(i).join(""))) return chars.slice(0, i).join("");
  }
  return value;
}
