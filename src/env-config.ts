/**
 * Every environment variable lading reads for a setting, read in this one
 * place into one object. `connect()` and the CLI read it once per session
 * and hand it down (the session's config, runExec's settings, Store.open);
 * a process lading starts for itself (the exec helper) reads it at its
 * start. The README's "Environment" table lists exactly ENV_SETTINGS
 * (test/layering/env-config.test.ts holds both to that, and fails on a
 * `process.env.X` read anywhere else in src/).
 *
 * Passing the environment on to a child process (`...process.env`) is not
 * reading a setting and stays where the child is started.
 */
export interface EnvSetting {
  name: string;
  /** What it changes, for the README's table. */
  meaning: string;
  /** Its value when unset, for the README's table. */
  unset: string;
}

export const ENV_SETTINGS: readonly EnvSetting[] = [
  { name: "LADING_HOME", meaning: "the store folder", unset: "`$XDG_DATA_HOME/lading`, else `~/.local/share/lading`" },
  { name: "XDG_DATA_HOME", meaning: "where the default store goes (`<it>/lading`), when LADING_HOME is unset", unset: "`~/.local/share`" },
  { name: "LADING_SHARED_STORE", meaning: "`1`: the store may be shared by a group (group-writable, setgid); see \"Other local users\"", unset: "a store only its owner can write" },
  { name: "LADING_RUNTIME", meaning: "the runtime for RUN / withExec: `runc`, `crun` or `podman` (`--runtime` and `connect({ runtime })` win)", unset: "the first installed of runc, crun, podman" },
  { name: "SOURCE_DATE_EPOCH", meaning: "the time (seconds) written into layers and the config (`connect({ sourceDateEpoch })` wins)", unset: "see \"Builds are deterministic\"" },
  { name: "LADING_CLAMP_MTIME", meaning: "`0`: keep the real times of files in layers instead of clamping them to the build epoch (`--no-clamp-mtime` and `connect({ clampMtime })` win)", unset: "clamped: see \"Builds are deterministic\"" },
  { name: "LADING_DEFLATE", meaning: "`wasm`: use the WebAssembly deflate, and take layer digests on the main thread, even where the native addons are built (same bytes)", unset: "native when built, else WebAssembly" },
  { name: "LADING_OVERLAY", meaning: "`0`: never mount overlayfs for an exec; copy the snapshot instead (slower, same layers)", unset: "overlayfs where the kernel allows it" },
  { name: "LADING_CGROUP", meaning: "`0`: as root, do not give each exec a cgroup of its own (CPU figures then come from rusage)", unset: "a cgroup per exec as root" },
  { name: "LADING_SPARE_HELPER", meaning: "`0`: do not keep a started exec helper waiting for the next exec", unset: "one spare helper per id mapping" },
  { name: "LADING_SUBIDS", meaning: "`0`: rootless, ignore /etc/subuid and /etc/subgid (only your own id exists in containers)", unset: "your subordinate ids are used" },
  { name: "LADING_GC", meaning: "`off`: never collect the store's garbage automatically", unset: "collection on, by the disk policy" },
  { name: "LADING_GC_RESERVED", meaning: "disk policy: space the store may always keep (e.g. `5GB`)", unset: "the store's `lading.json`, else the built-in policy" },
  { name: "LADING_GC_MAX_USED", meaning: "disk policy: the most the store may use", unset: "as above" },
  { name: "LADING_GC_MIN_FREE", meaning: "disk policy: free space to leave on the disk", unset: "as above" },
  { name: "LADING_DEBUG", meaning: "`1`: debug lines and stack traces", unset: "off" },
  { name: "OTEL_*", meaning: "OpenTelemetry's standard settings (`OTEL_EXPORTER_OTLP_ENDPOINT`, `…_PROTOCOL`, `…_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`, …): see \"Traces\"", unset: "no OTLP export" },
  { name: "TRACEPARENT", meaning: "a W3C trace context: the session's trace joins it (see \"Traces\")", unset: "a new trace" },
  { name: "REGISTRY_AUTH_FILE", meaning: "registry credentials file (podman's auth.json format), read and written instead of the defaults", unset: "`$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`, then docker's" },
  { name: "XDG_RUNTIME_DIR", meaning: "where podman's per-session auth.json is looked for", unset: "not looked for" },
  { name: "XDG_CONFIG_HOME", meaning: "where podman's auth.json is looked for (`<it>/containers/auth.json`)", unset: "`~/.config`" },
  { name: "DOCKER_CONFIG", meaning: "docker's config folder (`config.json`: auths, credHelpers, credsStore)", unset: "`~/.docker`" },
  {
    name: "LADING_EXTRA_CA_CERTS",
    meaning:
      "a PEM file of CAs that registries' certificates may chain to, besides node's own roots, read when lading first verifies a certificate. The `lading` command sets it from `NODE_EXTRA_CA_CERTS`, which node would otherwise parse at every start (~25 ms), and gives `NODE_EXTRA_CA_CERTS` back to the processes it starts; a script of yours has node load `NODE_EXTRA_CA_CERTS` as usual",
    unset: "node's roots (with `NODE_EXTRA_CA_CERTS`, when node loaded it)",
  },
];

export interface EnvConfig {
  home?: string;
  xdgDataHome?: string;
  sharedStore: boolean;
  runtime?: string;
  sourceDateEpoch?: string;
  /** Raw: connect() says what a bad value is. */
  clampMtime?: string;
  deflate: "native" | "wasm";
  overlay: boolean;
  cgroup: boolean;
  spareHelper: boolean;
  subids: boolean;
  gc: { off: boolean; reservedSpace?: string; maxUsedSpace?: string; minFreeSpace?: string };
  debug: boolean;
  registryAuthFile?: string;
  xdgRuntimeDir?: string;
  xdgConfigHome?: string;
  dockerConfig?: string;
  extraCaCerts?: string;
  /** Every OTEL_* variable, and TRACEPARENT, for telemetry/ (the OpenTelemetry SDK reads the same names). */
  otel: Record<string, string>;
}

const OTEL_PREFIX = "OTEL_";

/** The settings in `env` (default: this process's environment) as one object; empty values count as unset. */
export function readEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const get = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const off = (name: string) => get(name) === "0";
  const gc = get("LADING_GC")?.toLowerCase();
  const out: EnvConfig = {
    sharedStore: get("LADING_SHARED_STORE") === "1" || get("LADING_SHARED_STORE") === "true",
    deflate: get("LADING_DEFLATE") === "wasm" ? "wasm" : "native",
    overlay: !off("LADING_OVERLAY"),
    cgroup: !off("LADING_CGROUP"),
    spareHelper: !off("LADING_SPARE_HELPER"),
    subids: !off("LADING_SUBIDS"),
    gc: { off: gc === "off" || gc === "0" || gc === "false" },
    debug: get("LADING_DEBUG") === "1",
    otel: {},
  };
  for (const name of Object.keys(env)) {
    const v = get(name);
    if (v !== undefined && (name.startsWith(OTEL_PREFIX) || name === "TRACEPARENT")) out.otel[name] = v;
  }
  const optional: Array<[Exclude<keyof EnvConfig, "gc" | "otel">, string]> = [
    ["home", "LADING_HOME"],
    ["xdgDataHome", "XDG_DATA_HOME"],
    ["runtime", "LADING_RUNTIME"],
    ["sourceDateEpoch", "SOURCE_DATE_EPOCH"],
    ["clampMtime", "LADING_CLAMP_MTIME"],
    ["registryAuthFile", "REGISTRY_AUTH_FILE"],
    ["xdgRuntimeDir", "XDG_RUNTIME_DIR"],
    ["xdgConfigHome", "XDG_CONFIG_HOME"],
    ["dockerConfig", "DOCKER_CONFIG"],
    ["extraCaCerts", "LADING_EXTRA_CA_CERTS"],
  ];
  for (const [key, name] of optional) {
    const v = get(name);
    if (v !== undefined) (out as unknown as Record<string, string>)[key] = v;
  }
  const gcKeys = [["reservedSpace", "LADING_GC_RESERVED"], ["maxUsedSpace", "LADING_GC_MAX_USED"], ["minFreeSpace", "LADING_GC_MIN_FREE"]] as const;
  for (const [key, name] of gcKeys) {
    const v = get(name);
    if (v !== undefined) out.gc[key] = v;
  }
  return out;
}
