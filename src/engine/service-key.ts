/**
 * A service's definition key: what an exec bound to it is cached by (as
 * Dagger does), and what names one running instance within a session. A
 * container service keys on its container's key and how it is run; a host
 * service on its ports.
 */
import { sha256, type Digest } from "../oci/digest.js";
import { canonicalJson } from "../oci/json.js";
import type { ServiceSpec } from "./ops.js";
import type { StepContext } from "./step-context.js";

export async function serviceKey(ev: StepContext, spec: ServiceSpec): Promise<Digest> {
  if (spec.type === "host") return sha256(canonicalJson({ service: "host", ports: spec.ports, hostname: spec.hostname ?? null }));
  const state = await ev.container(spec.container);
  const { container: _node, timeoutSeconds: _wait, ...how } = spec;
  return sha256(canonicalJson({ service: "container", container: state.key, ...how, hostname: spec.hostname ?? null }));
}

/** The hostname a service has when none was given: from its definition, a DNS label. */
export function derivedHostname(key: Digest): string {
  return `svc-${key.slice("sha256:".length, "sha256:".length + 12)}`;
}
