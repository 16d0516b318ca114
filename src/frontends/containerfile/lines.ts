/**
 * Splits a Containerfile into logical instructions the way BuildKit's parser
 * (frontend/dockerfile/parser/parser.go) does: parser directives at the top,
 * comment lines dropped (also inside continuations), the escape token at the
 * end of a line continuing it, empty lines inside a continuation skipped,
 * and heredoc bodies (`<<EOF`, `<<-EOF`, `<<"EOF"`) read after RUN, COPY
 * and ADD lines.
 *
 * Why not dockerfile-ast for this: it is a language-server parser. Checked
 * with 0.7.1, it keeps comment lines inside continuations in the argument
 * text, splits arguments without regard to quotes (`"a  b"` becomes two),
 * and does not expose heredoc bodies. This layer is what docker itself does,
 * line by line, so dockerfile-ast is not used.
 */
import { ContainerfileError } from "../../errors.js";
import { EMPTY_ENV, processWord, processWords, ShellLexError } from "./shell-lex.js";

export interface Heredoc {
  /** The delimiter word, without quotes. */
  name: string;
  /** The body, one "\n" after each line; leading tabs already removed for `<<-`. */
  content: string;
  /** False when the delimiter was quoted: the body is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs were removed. */
  chomp: boolean;
}

export interface LogicalLine {
  /** Upper-case instruction keyword. */
  keyword: string;
  /** The keyword as written. */
  keywordAsWritten: string;
  /** Text after the keyword (flags included), continuations joined. */
  rest: string;
  /** 1-based line of the keyword. */
  line: number;
  /** 1-based last line, heredoc terminators included. */
  endLine: number;
  heredocs: Heredoc[];
}

export interface SplitResult {
  escape: string;
  directives: Record<string, string>;
  lines: LogicalLine[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;
const HEREDOC_KEYWORDS = new Set(["RUN", "COPY", "ADD"]);

export function splitLines(text: string, file: string): SplitResult {
  const physical = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (physical.length && physical[physical.length - 1] === "") physical.pop();
  const directives: Record<string, string> = {};
  let escape = "\\";
  let i = 0;
  // Parser directives: only at the very top, before any blank line, comment or instruction.
  for (; i < physical.length; i++) {
    const m = DIRECTIVE.exec(physical[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key in directives) throw new ContainerfileError(file, i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw new ContainerfileError(file, i + 1, `invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2]!;
    }
  }
  const continuation = new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const isComment = (l: string) => /^\s*#/.test(l);
  const isBlank = (l: string) => /^\s*$/.test(l);
  const lines: LogicalLine[] = [];
  for (; i < physical.length; i++) {
    const first = physical[i]!;
    if (isComment(first) || isBlank(first)) continue;
    const start = i;
    let text = first.replace(/^\s+/, "");
    let ended = !continuation.test(text);
    if (!ended) text = text.replace(continuation, "");
    while (!ended && i + 1 < physical.length) {
      const next = physical[++i]!;
      if (isComment(next) || isBlank(next)) continue;
      ended = !continuation.test(next);
      text += ended ? next : next.replace(continuation, "");
    }
    if (text.trim() === "") continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const logical: LogicalLine = { keyword, keywordAsWritten: m[1]!, rest, line: start + 1, endLine: i + 1, heredocs: [] };
    if (HEREDOC_KEYWORDS.has(keyword) || (keyword === "ONBUILD" && /^(RUN|COPY|ADD)\b/i.test(rest))) {
      for (const doc of heredocsIn(rest, escape)) {
        let terminated = false;
        let content = "";
        while (i + 1 < physical.length) {
          const body = physical[++i]!;
          const candidate = doc.chomp ? body.replace(/^\t+/, "") : body;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += (doc.chomp ? body.replace(/^\t+/, "") : body) + "\n";
        }
        if (!terminated) throw new ContainerfileError(file, start + 1, `${keyword}: unterminated heredoc: no line "${doc.name}" closes the <<${doc.chomp ? "-" : ""}${doc.name} opened here`);
        logical.heredocs.push({ ...doc, content });
      }
      logical.endLine = i + 1;
    }
    lines.push(logical);
  }
  return { escape, directives, lines };
}

/** The heredoc openers on a line, in order (BuildKit's heredocsFromLine). */
function heredocsIn(line: string, escape: string): Array<Omit<Heredoc, "content">> {
  let words: string[];
  try {
    words = processWords(line, EMPTY_ENV, { rawQuotes: true, rawEscapes: true, escape });
  } catch {
    return []; // a malformed line is reported by the instruction's own parsing
  }
  const docs: Array<Omit<Heredoc, "content">> = [];
  for (const w of words) {
    const m = HEREDOC_WORD.exec(w);
    if (!m || m[3] === "") continue;
    let name: string;
    try {
      name = processWord(m[3]!, EMPTY_ENV);
    } catch {
      continue;
    }
    if (name === "") continue;
    docs.push({ name, expand: name === m[3], chomp: m[2] === "-" });
  }
  return docs;
}

/** Whether `word` opens a heredoc (`<<EOF`, `<<-"EOF"`), and its name. */
export function heredocName(word: string): string | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === "") return undefined;
  try {
    return processWord(m[3]!, EMPTY_ENV) || undefined;
  } catch (err) {
    if (err instanceof ShellLexError) return undefined;
    throw err;
  }
}
