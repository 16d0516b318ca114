/**
 * The closed sets of values the public API takes, each exported twice under
 * one name, as Dagger's TypeScript SDK exports them: a scoped value
 * (`ReturnType.Any`, `CacheSharingMode.Locked`) and a literal type (`"ANY"`),
 * so a Dagger pipeline ports by changing its import line, and plain strings
 * keep working.
 *
 * Frozen objects with `as const`, not TypeScript `enum`s: a string enum's
 * type refuses the plain string (`"ANY"` is not a `ReturnType` then), and
 * erasable syntax is what Node's own type stripping and the transpilers a
 * build module runs through all accept.
 *
 * Member names and values are Dagger's (its `client.gen.ts`); where lading
 * took other strings before (`"OCI"`, `"DIRECTORY"`), those stay accepted.
 */
import { LadingError } from "../errors.js";

/**
 * Which exit codes of a `withExec` command count as success (Dagger's
 * `ReturnType`). Importing it shadows TypeScript's `ReturnType<T>` utility
 * in that file, as importing Dagger's does.
 *
 * - `ReturnType.Success` (`"SUCCESS"`): exit code 0, the default
 * - `ReturnType.Failure` (`"FAILURE"`): any non-zero code
 * - `ReturnType.Any` (`"ANY"`): every code
 *
 * @example container.withExec(["sh", "-c", "exit 3"], { expect: ReturnType.Any })
 */
export const ReturnType = Object.freeze({
  /** Any execution: every exit code counts as success. */
  Any: "ANY",
  /** A failed execution: any non-zero exit code. */
  Failure: "FAILURE",
  /** A successful execution: exit code 0. */
  Success: "SUCCESS",
} as const);
export type ReturnType = (typeof ReturnType)[keyof typeof ReturnType];

/**
 * How concurrent execs share one cache volume (Dagger's `CacheSharingMode`).
 *
 * - `CacheSharingMode.Shared` (`"SHARED"`, the default): all at once
 * - `CacheSharingMode.Private` (`"PRIVATE"`): an exec that finds the volume in use gets a private copy of it
 * - `CacheSharingMode.Locked` (`"LOCKED"`): one exec at a time; the others wait
 *
 * @example c.withMountedCache("/root/.npm", client.cacheVolume("npm"), { sharing: CacheSharingMode.Locked })
 */
export const CacheSharingMode = Object.freeze({
  /** One exec at a time uses the volume; the others wait for it. */
  Locked: "LOCKED",
  /** An exec that finds the volume in use gets a private copy of it. */
  Private: "PRIVATE",
  /** All execs use the volume at once. */
  Shared: "SHARED",
} as const);
export type CacheSharingMode = (typeof CacheSharingMode)[keyof typeof CacheSharingMode];

/**
 * Transport protocol of an exposed port (Dagger's `NetworkProtocol`).
 * @example c.withExposedPort(53, { protocol: NetworkProtocol.Udp })
 */
export const NetworkProtocol = Object.freeze({
  /** TCP (the default). */
  Tcp: "TCP",
  /** UDP. */
  Udp: "UDP",
} as const);
export type NetworkProtocol = (typeof NetworkProtocol)[keyof typeof NetworkProtocol];

/**
 * Media types of written images (Dagger's `ImageMediaTypes`): OCI's
 * (`application/vnd.oci.…`, the default) or Docker's v2 schema 2. lading's
 * earlier spellings `"OCI"` and `"Docker"` mean the same.
 * @example await c.export("img.tar", { mediaTypes: ImageMediaTypes.Dockermediatypes })
 */
export const ImageMediaTypes = Object.freeze({
  /** Docker's image manifest v2 schema 2 media types. */
  Dockermediatypes: "DockerMediaTypes",
  /** The OCI image spec's media types. */
  Ocimediatypes: "OCIMediaTypes",
} as const);
export type ImageMediaTypes = (typeof ImageMediaTypes)[keyof typeof ImageMediaTypes] | "OCI" | "Docker";

/**
 * Layer compression of written images (Dagger's `ImageLayerCompression`).
 * `Estargz` is refused (`UNSUPPORTED`): lading writes no eStargz layers yet.
 * @example await c.publish("127.0.0.1:5000/app:1", { forcedCompression: ImageLayerCompression.Zstd })
 */
export const ImageLayerCompression = Object.freeze({
  /** eStargz (seekable gzip): not supported yet, refused with `UNSUPPORTED`. */
  Estargz: "EStarGZ",
  /** gzip (the default for new layers). */
  Gzip: "Gzip",
  /** No compression. */
  Uncompressed: "Uncompressed",
  /** zstd (OCI media types only). */
  Zstd: "Zstd",
} as const);
export type ImageLayerCompression = (typeof ImageLayerCompression)[keyof typeof ImageLayerCompression];

/**
 * The kind of filesystem entry `Directory.exists` checks for (Dagger's
 * `ExistsType`). Symlinks are not followed. lading's earlier spellings
 * `"DIRECTORY"`, `"REGULAR"` and `"SYMLINK"` mean the same.
 * @example await dir.exists("package.json", { expectedType: ExistsType.RegularType })
 */
export const ExistsType = Object.freeze({
  /** A directory. */
  DirectoryType: "DIRECTORY_TYPE",
  /** A regular file. */
  RegularType: "REGULAR_TYPE",
  /** A symbolic link. */
  SymlinkType: "SYMLINK_TYPE",
} as const);
export type ExistsType = (typeof ExistsType)[keyof typeof ExistsType] | "DIRECTORY" | "REGULAR" | "SYMLINK";

/** What a plain-string option was given: a value outside its set fails at the call, naming the choices. */
function refuse(what: string, value: unknown, choices: string[]): never {
  throw new LadingError("INVALID_ARGUMENT", `invalid ${what} ${JSON.stringify(value)}: use ${choices.map((c) => JSON.stringify(c)).join(", ")}`);
}

/** The engine's flavour for a `mediaTypes` option (either spelling); undefined stays undefined (the client's default). */
export function mediaTypesFlavour(value: ImageMediaTypes | undefined): "OCI" | "Docker" | undefined {
  if (value === undefined) return undefined;
  if (value === "OCIMediaTypes" || value === "OCI") return "OCI";
  if (value === "DockerMediaTypes" || value === "Docker") return "Docker";
  return refuse("mediaTypes", value, [...Object.values(ImageMediaTypes), "OCI", "Docker"]);
}

/** A compression lading writes; eStargz is a known value it cannot write yet, so it is refused apart from typos. */
export function supportedCompression(value: ImageLayerCompression | undefined, what: string): "Gzip" | "Zstd" | "Uncompressed" | undefined {
  if (value === undefined || value === "Gzip" || value === "Zstd" || value === "Uncompressed") return value;
  if (value === "EStarGZ") throw new LadingError("UNSUPPORTED", `${what} "EStarGZ" (ImageLayerCompression.Estargz) is not supported yet: lading writes no eStargz layers; use "Gzip", "Zstd" or "Uncompressed"`);
  return refuse(what, value, ["Gzip", "Zstd", "Uncompressed"]);
}

/** `sharing` checked at the call, so a misspelt mode fails where it is written, not when an exec first runs. */
export function checkedSharing(value: CacheSharingMode | undefined): CacheSharingMode {
  if (value === undefined) return "SHARED";
  if ((Object.values(CacheSharingMode) as string[]).includes(value)) return value;
  return refuse("sharing", value, Object.values(CacheSharingMode));
}

/** The entry kind an `expectedType` names, in lading's earlier spelling. */
export function existsKind(value: ExistsType): "DIRECTORY" | "REGULAR" | "SYMLINK" {
  switch (value) {
    case "DIRECTORY_TYPE":
    case "DIRECTORY":
      return "DIRECTORY";
    case "REGULAR_TYPE":
    case "REGULAR":
      return "REGULAR";
    case "SYMLINK_TYPE":
    case "SYMLINK":
      return "SYMLINK";
  }
  return refuse("expectedType", value, [...Object.values(ExistsType), "DIRECTORY", "REGULAR", "SYMLINK"]);
}
