/** What the frontend tracks for a stage while translating it, beside the Container itself. */
import type { Client, Container, Directory, Secret } from "../../index.js";
import type { ParsedContainerfile } from "./parse.js";
import type { Vars } from "./vars.js";

export interface StageState {
  c: Container;
  /** Image env and declared ARGs, for expansion. */
  vars: Vars;
  /** Absolute working directory (resolves relative WORKDIR, COPY destinations, mount targets). */
  workdir: string;
  /** The USER in effect ("" = root), for the directories WORKDIR creates. */
  user: string;
  /** The shell for shell-form commands (SHELL, or the base image's). */
  shell: string[];
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it, as docker does). */
  cmdSet: boolean;
  /** ONBUILD triggers this stage's image carries (docker runs them in a stage built FROM it). */
  onBuild: string[];
  platform: string;
}

/** Everything a build step may need from the build as a whole. */
export interface BuildInputs {
  client: Client;
  parsed: ParsedContainerfile;
  context: Directory;
  contextPath: string;
  buildArgs: Record<string, string>;
  platform: string;
  buildPlatform: string;
  secrets: Record<string, Secret>;
  noCache: boolean;
  /** Where warnings go (`file:line: …`, each once). */
  onWarning?: (message: string) => void;
  /** Named contexts (`--build-context name=…`) for `COPY --from=name` and `RUN --mount=from=name`. */
  contexts: Record<string, Directory>;
}

/** How a step reaches other stages or images (`--from`, `RUN --mount from=`). */
export interface RootResolver {
  rootOf(ref: string, line: number, platform: string): Promise<CopyRoot>;
}

/** Where a COPY reads from: the context, a stage or an image. */
export interface CopyRoot {
  dir: Directory;
  /** The stage or image whose root `dir` is (its path lookups follow links inside it); undefined for the context. */
  container?: Container;
  /** Where the root is on the host (the context), for archive sniffing; undefined for stages and images. */
  hostPath?: string;
  /** "the build context", `stage "build"`, `image "alpine"`: for messages. */
  label: string;
}
