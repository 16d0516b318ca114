/**
 * `WWW-Authenticate` parsing per RFC 7235: a header may hold several
 * challenges, each a scheme followed by auth-params whose values may be
 * quoted strings containing commas (`scope="repository:a:pull,push"`), so a
 * naive split on "," breaks (distribution-rules §9.1).
 */
export interface Challenge {
  /** Lower case: "bearer", "basic". */
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenges(headerValues: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const h of headerValues) out.push(...parseOne(h));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (!name) {
      i++; // skip a stray character rather than loop forever
      continue;
    }
    skipWs();
    if (s[i] === "=" && current) {
      // auth-param: name=value
      i++;
      skipWs();
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        const vs = i;
        while (i < s.length && s[i] !== "," && s[i] !== " ") i++;
        value = s.slice(vs, i);
      }
      current.params[name.toLowerCase()] = value;
    } else if (s[i] === "=" && !current) {
      i = start + name.length + 1; // malformed: a param before any scheme
    } else {
      // a new challenge's scheme (possibly followed by token68, which registries do not use)
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/**
 * Merges token scopes (`type:name:actions`) so one resource appears once
 * with the union of its actions: `repository:a:pull` + `repository:a:pull,push`
 * → `repository:a:pull,push`. The name may hold `host:port`, so the actions
 * are what follows the last colon (distribution-rules §9.6).
 */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes.flatMap((x) => x.split(" ")).filter(Boolean)) {
    const i = s.lastIndexOf(":");
    const resource = i > 0 ? s.slice(0, i) : s;
    const actions = i > 0 ? s.slice(i + 1).split(",").filter(Boolean) : [];
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of actions) set.add(a);
    byResource.set(resource, set);
  }
  return [...byResource.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([r, a]) => `${r}:${[...a].sort().join(",")}`);
}
