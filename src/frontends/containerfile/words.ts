/**
 * The argument shapes docker's parser gives instructions
 * (frontend/dockerfile/parser/line_parsers.go): leading `--flags`,
 * quote-aware words (ENV, LABEL, ARG), JSON exec form or shell form.
 */

export interface Flag {
  name: string;
  /** Raw value (unexpanded, quotes kept); undefined for a bare `--flag`. */
  value: string | undefined;
}

/** Splits leading `--name[=value]` words off `rest`; a lone `--` ends them. */
export function extractFlags(rest: string): { flags: Flag[]; args: string } {
  const flags: Flag[] = [];
  let s = rest.trimStart();
  while (s.startsWith("--")) {
    const word = firstWord(s);
    s = s.slice(word.length).trimStart();
    if (word === "--") break;
    const eq = word.indexOf("=");
    flags.push(eq < 0 ? { name: word.slice(2), value: undefined } : { name: word.slice(2, eq), value: word.slice(eq + 1) });
  }
  return { flags, args: s };
}

/** The first whitespace-delimited word, quotes respected (`--chown="a b"`). */
function firstWord(s: string): string {
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (/\s/.test(c)) return s.slice(0, i);
  }
  return s;
}

/**
 * Docker's parseWords: whitespace-separated words, quotes and escapes kept
 * in the words (they are removed later by expansion), so `B="2 3"` is one word.
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let inWord = false;
  let quote = "";
  let word = "";
  let blankOK = false;
  for (let i = 0; i <= chars.length; i++) {
    const end = i === chars.length;
    let ch = end ? "" : chars[i]!;
    if (!inWord && !quote) {
      if (end) break;
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (end) {
      if (blankOK || word.length) words.push(word);
      break;
    }
    if (!quote) {
      if (/\s/.test(ch)) {
        inWord = false;
        if (blankOK || word.length) words.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
      } else if (ch === escape) {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) quote = "";
    else if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) continue;
      word += ch;
      ch = chars[++i]!;
    }
    word += ch;
  }
  return words;
}

/** The JSON exec form (`["a", "b"]`), or undefined when `args` is the shell form. */
export function parseJsonForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  } catch {
    // Not JSON: docker then treats the text as the shell form.
  }
  return undefined;
}

/** Go's time.ParseDuration, in nanoseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (s === "") return undefined;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return Math.round(total);
}
