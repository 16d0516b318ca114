import type { ContainerNode } from "./ops.js";
import type { StepContext } from "./step-context.js";
import { finalizeComplete, type ImageOutputOptions } from "./export.js";
import { runStep } from "./steps/run-step.js";
import { registryCredentials } from "./registry-auth.js";
import { transferEvents } from "./transfer-events.js";

/** Pushes the image (or index of platform variants) to `address`; returns `address@sha256:…` like Dagger. */
export async function publishContainer(ev: StepContext, node: ContainerNode, address: string, opts: ImageOutputOptions = {}): Promise<string> {
  const { parseReference, formatReference } = await import("../registry/reference.js");
  const { RegistryClient } = await import("../registry/client.js");
  const ref = parseReference(address);
  const session = ev.session;
  const { layoutPush } = await import("./layout-push.js");
  const direct = await layoutPush(ev, node, opts);
  // Straight from the layout, or with every layer in the store (a step taken from a registry cache leaves its layer there until now).
  const root = direct?.root ?? (await finalizeComplete(ev, node, opts));
  const auth = registryCredentials(session, direct?.parent ?? (await ev.container(node)));
  const id = `push:${address}`;
  const client = new RegistryClient({ ...session.config.registry, auth: [...auth, ...(session.config.registry.auth ?? [])], env: session.config.env, onProgress: transferEvents(session, id, "push") });
  try {
    const digest = await runStep(session, { id, name: `push ${formatReference(ref)}`, attributes: { "lading.input.digest": root.digest, "lading.input.size": root.size } }, async () => {
      const pushed = await client.push(direct?.store ?? session.store, root, ref, { signal: session.config.signal });
      await direct?.stored; // the manifest and config are in the store before the push is done
      return pushed;
    }, false);
    return `${formatReference({ ...ref, digest: undefined })}@${digest}`;
  } finally {
    await direct?.stored.catch(() => {}); // a failed push leaves no store write running either
    await client.close();
  }
}
