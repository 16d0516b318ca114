/**
 * lading: build, export and push OCI images without a daemon or root.
 * The one public door: the CLI and the frontends use only what is here.
 * The Containerfile frontend is its own entry, `lading/containerfile`,
 * built on this one (so this file never imports it back).
 */
export { connect, Client, Host, type ConnectOpts } from "./api/client.js";
export type { DiskUsage, PruneOpts, PruneResult, FsckResult, FsckProblem, FsckProblemKind, GcConfig, GcSettings, SizeSetting, PolicyFigures } from "./api/client.js";
export { Container, type ContainerExportOpts, type ContainerPublishOpts, type ContainerAsTarballOpts } from "./api/container.js";
export { Directory } from "./api/directory.js";
export { File } from "./api/file.js";
export { Secret, CacheVolume } from "./api/secret.js";
export type * from "./api/options.js";
export type { ProgressEvent, StepEvent, LogEvent, ProgressListener } from "./engine/events.js";
export type { PullPolicy } from "./engine/session.js";
export { LadingError, ExecError, RegistryError, ContainerfileError, type LadingErrorCode } from "./errors.js";
export type { Platform, Descriptor, ImageManifest, ImageIndex, ImageConfig, RuntimeConfig, HealthConfig } from "./oci/types.js";

/** Stores credentials for a registry the way docker does (config.json auths, or its credsStore). */
export async function login(registry: string, username: string, secret: string, opts: { insecureRegistries?: string[] } = {}): Promise<void> {
  const m = await import("./registry/login.js");
  return m.login(registry, username, secret, opts as never);
}

/** Removes stored credentials for a registry; returns whether there were any. */
export async function logout(registry: string): Promise<boolean> {
  const m = await import("./registry/login.js");
  return m.logout(registry);
}
