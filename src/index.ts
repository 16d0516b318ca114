/**
 * lading: build, export and push OCI images without a daemon or root.
 * The one public door: the CLI and the frontends use only what is here.
 */
export { connect, Client, Host, type ConnectOpts } from "./api/client.js";
export type { DiskUsage, PruneOpts, PruneResult, FsckResult, FsckProblem, FsckProblemKind, GcConfig, GcSettings, SizeSetting, PolicyFigures } from "./api/client.js";
export { Container } from "./api/container.js";
export { Directory } from "./api/directory.js";
export { File } from "./api/file.js";
export { Secret, CacheVolume } from "./api/secret.js";
export type * from "./api/options.js";
export type { ProgressEvent, StepEvent, LogEvent, ProgressListener } from "./engine/events.js";
export type { PullPolicy } from "./engine/session.js";
export { LadingError, ExecError, RegistryError, ContainerfileError, type LadingErrorCode } from "./errors.js";
export type { Platform, Descriptor, ImageManifest, ImageIndex, ImageConfig, RuntimeConfig, HealthConfig } from "./oci/types.js";
export { buildContainerfile, type ContainerfileBuildOptions } from "./frontends/containerfile/index.js";
export { login, logout } from "./registry/login.js";
