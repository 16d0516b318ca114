/**
 * The layering of DESIGN.md as a test (run by `npm test`, test/layering).
 * Arrows point down: cli → index (the public API) → api → engine →
 * store / oci / registry / exec → fsutil. Type-only imports count: a cycle
 * of types is still a cycle of knowledge.
 */
const part = (p) => `^src/${p}/`;
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "no import cycle between files, type-only ones included", from: {}, to: { circular: true } },
    { name: "nothing-imports-cli", severity: "error", from: { pathNot: part("cli") }, to: { path: part("cli") } },
    {
      name: "cli-uses-public-api", severity: "error",
      comment: "the CLI does what a user's own tooling can: only src/index.ts, lading/containerfile and neutral helpers",
      from: { path: part("cli") },
      to: { path: "^src/", pathNot: [part("cli"), "^src/index\\.ts$", "^src/frontends/containerfile/index\\.ts$", "^src/frontends/modules/index\\.ts$", "^src/(errors|env-config)\\.ts$", part("fsutil")] },
    },
    {
      name: "frontends-use-public-api", severity: "error",
      from: { path: part("frontends") },
      to: { path: "^src/", pathNot: [part("frontends"), "^src/index\\.ts$", "^src/(errors|env-config)\\.ts$", part("fsutil")] },
    },
    {
      name: "api-on-engine", severity: "error",
      comment: "api/ records ops; it reaches the store, registries and runtimes only through engine/",
      from: { path: part("api") },
      to: { path: "^src/", pathNot: [part("api"), part("engine"), "^src/telemetry/index\\.ts$", "^src/(errors|env-config)\\.ts$", "^src/oci/types\\.ts$", part("fsutil")] },
    },
    {
      name: "parts-below-engine", severity: "error",
      comment: "oci/, registry/, exec/, git/ take small interfaces; they never import store/ or engine/",
      from: { path: "^src/(oci|registry|exec|git)/" },
      to: { path: [part("engine"), part("api"), part("frontends"), "^src/index\\.ts$"] },
    },
    {
      name: "net-on-exec", severity: "error",
      comment: "net/ (services: session networks, relays) runs containers through exec/; like it, it never imports store/, engine/ or api/",
      from: { path: part("net") },
      to: { path: [part("engine"), part("api"), part("frontends"), part("store"), part("registry"), part("git"), "^src/index\\.ts$"] },
    },
    {
      name: "parts-below-store", severity: "error",
      from: { path: "^src/(oci|registry|exec|git)/" },
      to: { path: part("store") },
    },
    {
      name: "store-knows-no-network-or-runtime", severity: "error",
      from: { path: part("store") },
      to: { path: [part("registry"), part("exec"), part("git"), part("engine"), part("api"), part("frontends"), "^src/index\\.ts$"] },
    },
    {
      name: "telemetry-listens-to-events", severity: "error",
      comment: "telemetry/ builds spans from the engine's progress events: of the engine it knows only engine/events.ts",
      from: { path: part("telemetry") },
      to: { path: "^src/", pathNot: [part("telemetry"), "^src/engine/events\\.ts$", "^src/errors\\.ts$", part("fsutil")] },
    },
    {
      name: "telemetry-through-its-door", severity: "error",
      comment: "only api/ (through telemetry/index.ts) and the public index start tracing; the engine never calls telemetry",
      from: { path: "^src/", pathNot: [part("telemetry"), part("api"), "^src/index\\.ts$"] },
      to: { path: part("telemetry") },
    },
    {
      name: "telemetry-index-only", severity: "error",
      from: { path: part("api") },
      to: { path: part("telemetry"), pathNot: "^src/telemetry/index\\.ts$" },
    },
    { name: "fsutil-is-neutral", severity: "error", from: { path: part("fsutil") }, to: { path: "^src/", pathNot: [part("fsutil"), "^src/errors\\.ts$"] } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|test|bench)/" },
  },
};
