/**
 * lading: build, export and push OCI images without a daemon or root.
 * The one public door: the CLI and the frontends use only what is here.
 * The Containerfile frontend is its own entry, `lading/containerfile`,
 * built on this one (so this file never imports it back).
 */
import type { LoginOpts } from "./api/options.js";

export { connect, Client, Host, type ConnectOpts, type SourcePin, type StoredImage } from "./api/client.js";
export type { DiskUsage, PruneOpts, PruneResult, FsckResult, FsckProblem, FsckProblemKind, GcConfig, GcSettings, SizeSetting, PolicyFigures } from "./api/client.js";
export {
  Container,
  type ContainerExportOpts,
  type ContainerExportLayoutOpts,
  type ContainerPublishOpts,
  type ContainerExportCacheOpts,
  type ContainerAsTarballOpts,
  type ContainerTagOpts,
  type ContainerWithMountedCacheOpts,
} from "./api/container.js";
export { dag, withDag } from "./api/dag.js";
export { Service, type ContainerAsServiceOpts, type ServiceStopOpts, type ServiceEndpointOpts, type ServiceUpOpts, type PortForward } from "./api/service.js";
export { Directory } from "./api/directory.js";
export { File } from "./api/file.js";
export { Secret, CacheVolume } from "./api/secret.js";
export { GitRepository, GitRef, isGitAddress, parseGitSource, type GitSourceSpec, type ClientGitOpts, type GitRefTreeOpts, type GitRepositoryTagsOpts } from "./api/git.js";
export type * from "./api/options.js";
export { ReturnType, CacheSharingMode, NetworkProtocol, ImageMediaTypes, ImageLayerCompression, ExistsType } from "./api/enums.js";
export type { ImageInspection } from "./engine/inspect.js";
export type { ProgressEvent, StepEvent, LogEvent, WarningEvent, ProgressListener, StepAttribute } from "./engine/events.js";
export type { TraceOptions, SpanExporterLike } from "./telemetry/index.js";
export type { PullPolicy } from "./engine/session.js";
export { LadingError, ExecError, RegistryError, ContainerfileError, type LadingErrorCode } from "./errors.js";
export type { Platform, Descriptor, ImageManifest, ImageIndex, ImageConfig, RuntimeConfig, HealthConfig } from "./oci/types.js";

/**
 * Stores credentials for a registry where docker keeps them: through the
 * credential helper `config.json` names for it (`credHelpers`, `credsStore`),
 * else inline in `config.json` (`$DOCKER_CONFIG`, else `~/.docker`); with
 * `$REGISTRY_AUTH_FILE` set, in that containers `auth.json` instead. The
 * credentials are checked against the registry first.
 * @param registry The registry host, such as "ghcr.io" or "127.0.0.1:5000".
 * @param username The user name.
 * @param secret The password or token.
 * @param opts See {@link LoginOpts}.
 * @throws LadingError `AUTH` when the registry refuses the credentials (nothing is stored), `REGISTRY` or `NETWORK` when it cannot be asked.
 * @example await login("ghcr.io", "me", process.env.GHCR_TOKEN!);
 */
export async function login(registry: string, username: string, secret: string, opts: LoginOpts = {}): Promise<void> {
  const m = await import("./registry/login.js");
  return m.login(registry, username, secret, opts as never);
}

/**
 * Removes stored credentials for a registry (from the credential helper and from the config file), where `login` stores them.
 * @param registry The registry host, as given to `login`.
 * @returns Whether there were any.
 * @example if (!(await logout("ghcr.io"))) console.log("was not logged in");
 */
export async function logout(registry: string): Promise<boolean> {
  const m = await import("./registry/login.js");
  return m.logout(registry);
}

/**
 * The trace page for an OTLP/JSON trace (what `--trace-file X.json` or a
 * collector's export holds): one self-contained HTML file, as `--trace-file X.html` writes.
 * @param otlpJson An OTLP/JSON `ExportTraceServiceRequest`.
 * @returns The page.
 * @example await writeFile("trace.html", await traceHtml(await readFile("trace.json", "utf8")));
 */
export async function traceHtml(otlpJson: string): Promise<string> {
  const m = await import("./telemetry/html.js");
  return m.renderTraceHtml(otlpJson);
}
