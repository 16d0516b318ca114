/**
 * Image references with Docker's normalisation (distribution/reference
 * `ParseNormalizedNamed`): `alpine` → `docker.io/library/alpine`,
 * `host:port/name:tag`, `name@sha256:…`, `name:tag@sha256:…`.
 * A reference without tag or digest keeps `tag` undefined; callers that
 * need one use `latest` (see `referenceTagOrDigest`).
 */
import { LadingError } from "../errors.js";
import { isDigest, type Digest } from "../oci/digest.js";

export interface Reference {
  /** "docker.io", "127.0.0.1:5000", "[::1]:5000" */
  registry: string;
  /** "library/alpine" */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = "docker.io";
/** Docker Hub's API lives on another host than its name (docker/cli `registry.IndexServer`). */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";

// distribution-spec §"Pulling manifests": repository path components, lower case only.
const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// A DNS name or IPv4 address, or a bracketed IPv6 address, optionally with a port.
const HOST_RE = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const NAME_MAX = 255;

// Sources that are not registries and must never be taken for `name:tag`.
const TRANSPORT_PREFIXES = ["oci:", "oci-archive:", "docker-archive:", "docker-daemon:", "containers-storage:", "dir:", "tarball:"];

function invalid(s: string, what: string): LadingError {
  return new LadingError("INVALID_ARGUMENT", `invalid image reference ${JSON.stringify(s)}: ${what}`);
}

/** Parses a Docker-style image reference; an invalid one is an INVALID_ARGUMENT error naming the bad part. */
export function parseReference(s: string): Reference {
  if (typeof s !== "string" || s.length === 0) throw invalid(String(s), "empty reference");
  let rest = s.startsWith("docker://") ? s.slice("docker://".length) : s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(s, `digest ${JSON.stringify(d)} is not sha256:<64 lowercase hex>`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(s, `tag ${JSON.stringify(tag)} must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  if (rest.length === 0) throw invalid(s, "missing repository name");

  // docker's splitDockerDomain: the first component is a registry host when it
  // looks like one (has "." or ":", is "localhost", or has upper case letters).
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.toLowerCase() !== first) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (!HOST_RE.test(registry)) throw invalid(s, `registry host ${JSON.stringify(registry)} is not a valid host[:port]`);
  const port = /:(\d+)$/.exec(registry)?.[1];
  if (port !== undefined && Number(port) > 65535) throw invalid(s, `registry port ${port} is out of range`);
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  for (const c of repository.split("/")) {
    if (!COMPONENT_RE.test(c)) {
      throw invalid(s, `repository component ${JSON.stringify(c)} must be lower case letters, digits and separators (. _ __ -)`);
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX) throw invalid(s, `name is longer than ${NAME_MAX} characters`);
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `docker.io/library/alpine:latest`, `h:5000/x:t@sha256:…` (tag and digest as present). */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag ? ":" + r.tag : ""}${r.digest ? "@" + r.digest : ""}`;
}

/** Tells a registry reference (`alpine:3`, `localhost:5000/x`) from `oci:` style sources and strings that cannot be one. */
export function isLikelyRegistryReference(s: string): boolean {
  if (TRANSPORT_PREFIXES.some((p) => s.startsWith(p))) return false;
  if (s.startsWith("/") || s.startsWith("./") || s.startsWith("../")) return false;
  try {
    parseReference(s);
    return true;
  } catch {
    return false;
  }
}

/** What goes after `/manifests/`: the digest when pinned, else the tag (default `latest`). */
export function referenceTagOrDigest(r: Reference): string {
  return r.digest ?? r.tag ?? "latest";
}

/** The host the API is served from (Docker Hub's name differs from its API host). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** Whether `host[:port]` is loopback (localhost, 127.0.0.0/8, ::1), which defaults to plain HTTP like docker does. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith("[") ? hostPort.slice(1, hostPort.indexOf("]")) : hostPort.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
