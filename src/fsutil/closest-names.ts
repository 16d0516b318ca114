/**
 * "Did you mean": the known names nearest to a mistyped one (edit distance),
 * for the errors of the Containerfile frontend and of build modules.
 */
export function closestNames(wanted: string, known: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return known
    .map((k) => ({ k, d: editDistance(wanted.toLowerCase(), k.toLowerCase()) }))
    .filter((x) => x.d <= limit || x.k.toLowerCase().startsWith(wanted.toLowerCase()))
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, max)
    .map((x) => x.k);
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
