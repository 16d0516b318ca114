// A node:test reporter that writes one JSON line per skipped test: its file,
// the names of the suites around it, its name and the reason it gave.
// test/run.mjs reads these to hold CI to its list of allowed skips; names
// parsed from the spec reporter's text would break on a name with " # ".
export default async function* skipReporter(source) {
  // Per file, the names of the tests started at each nesting level: a skip's suites.
  const open = new Map();
  for await (const { type, data } of source) {
    if (type === "test:start") {
      const stack = open.get(data.file) ?? [];
      stack.length = data.nesting;
      stack.push(data.name);
      open.set(data.file, stack);
    } else if ((type === "test:pass" || type === "test:fail") && data.skip !== undefined && data.skip !== false) {
      const suites = (open.get(data.file) ?? []).slice(0, data.nesting);
      yield JSON.stringify({ file: data.file, suites, name: data.name, reason: typeof data.skip === "string" ? data.skip : "" }) + "\n";
    }
  }
  // Without this line the reader knows the list may be cut short.
  yield JSON.stringify({ end: true }) + "\n";
}
