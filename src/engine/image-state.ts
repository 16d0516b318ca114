import { LadingError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { HistoryEntry, LayerRef, Platform, RuntimeConfig } from "../oci/types.js";
import type { ConfigEdit, MountSpec, SecretRef, ServiceSpec } from "./ops.js";

export interface ExecOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  metrics?: Record<string, unknown>;
}

/**
 * What a Container evaluates to: small, and nothing unpacked. `key` is the
 * cache key of this state (a digest over every op that led to it and the
 * content keys of their inputs).
 */
export interface ImageState {
  readonly key: Digest;
  readonly platform: Platform;
  readonly created?: string;
  /** The image config's author (docker's MAINTAINER); a base image's is kept, as docker keeps it. */
  readonly author?: string;
  readonly config: RuntimeConfig;
  readonly layers: readonly LayerRef[];
  readonly history: readonly HistoryEntry[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly mounts: ReadonlyArray<{ target: string; mount: MountSpec }>;
  readonly secretEnv: ReadonlyArray<{ name: string; secret: SecretRef }>;
  /** Registry credentials of this chain (withRegistryAuth): not part of the image, nor of its cache key. */
  readonly registryAuth: ReadonlyArray<{ registry: string; username: string; secret: SecretRef }>;
  /** Services bound to this chain's execs (withServiceBinding), by alias; absent when none. */
  readonly services?: ReadonlyArray<{ alias: string; service: ServiceSpec }>;
  readonly lastExec?: ExecOutcome;
  /** Set while the state is exactly an image read from a source: finalizing it gives back that manifest, byte for byte. */
  readonly pristine?: import("../oci/types.js").Descriptor;
  /** The image this one was built FROM, for org.opencontainers.image.base.* annotations. */
  readonly base?: { name: string; digest: Digest };
}

export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new LadingError("INVALID_ARGUMENT", `invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64`);
  }
  return parts[2] ? { os: parts[0]!, architecture: parts[1]!, variant: parts[2] } : { os: parts[0]!, architecture: parts[1]! };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}`;
}

export function hostPlatform(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  const arch = map[process.arch] ?? process.arch;
  return arch === "arm" ? "linux/arm/v7" : `linux/${arch}`;
}

/** Applies one config edit, returning a new config (never mutating `cfg`). */
export function applyConfigEdit(cfg: RuntimeConfig, edit: Exclude<ConfigEdit, { field: "author" }>): RuntimeConfig {
  const c: RuntimeConfig = { ...cfg };
  switch (edit.field) {
    case "env": {
      const env = (c.Env ?? []).filter((e) => e.slice(0, e.indexOf("=") < 0 ? e.length : e.indexOf("=")) !== edit.name);
      if (edit.value !== undefined) {
        const at = (c.Env ?? []).findIndex((e) => e.startsWith(edit.name + "="));
        // Keep the variable's place when it is replaced, as docker does.
        if (at >= 0) env.splice(at, 0, `${edit.name}=${edit.value}`);
        else env.push(`${edit.name}=${edit.value}`);
      }
      c.Env = env;
      break;
    }
    case "workdir":
      c.WorkingDir = edit.path;
      break;
    case "user":
      c.User = edit.user;
      break;
    case "entrypoint":
      c.Entrypoint = edit.args;
      // Docker and Dagger both drop the default args when the entrypoint changes.
      if (!edit.keepDefaultArgs) delete c.Cmd;
      break;
    case "cmd":
      c.Cmd = edit.args;
      break;
    case "label": {
      const labels = { ...c.Labels };
      if (edit.value === undefined) delete labels[edit.name];
      else labels[edit.name] = edit.value;
      c.Labels = labels;
      break;
    }
    case "expose": {
      const ports = { ...c.ExposedPorts };
      if (edit.remove) delete ports[edit.port];
      else ports[edit.port] = {};
      c.ExposedPorts = ports;
      break;
    }
    case "volume":
      c.Volumes = { ...c.Volumes, [edit.path]: {} };
      break;
    case "stopSignal":
      c.StopSignal = edit.signal;
      break;
    case "healthcheck":
      if (edit.healthcheck === null) c.Healthcheck = { Test: ["NONE"] };
      else c.Healthcheck = edit.healthcheck;
      break;
    case "shell":
      c.Shell = edit.args;
      break;
    case "onBuild":
      c.OnBuild = [...(c.OnBuild ?? []), edit.trigger];
      break;
  }
  return c;
}

/** The value of an env variable in a config, or null. */
export function envValue(cfg: RuntimeConfig, name: string): string | null {
  const e = (cfg.Env ?? []).find((x) => x.startsWith(name + "="));
  return e === undefined ? null : e.slice(name.length + 1);
}
