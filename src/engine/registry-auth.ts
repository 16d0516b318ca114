/**
 * A chain's registry credentials (withRegistryAuth) as the registry client
 * takes them: secret values are read from the session only here, when a
 * request is about to be made, so they are never part of an op or a key.
 */
import { LadingError } from "../errors.js";
import type { ImageState } from "./image-state.js";
import type { Session } from "./session.js";

export interface RegistryCredential {
  registry: string;
  username: string;
  secret: string;
}

export function registryCredentials(session: Session, state: ImageState): RegistryCredential[] {
  return state.registryAuth.map((a) => {
    const value = session.secrets.get(a.secret.name);
    if (!value) throw new LadingError("NOT_FOUND", `the registry credentials for ${a.registry} name secret "${a.secret.name}", which has no value in this session`);
    return { registry: a.registry, username: a.username, secret: value.toString("utf8") };
  });
}
