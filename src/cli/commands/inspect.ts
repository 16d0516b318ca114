import { openClient, type CommonOpts } from "../client.js";
import type { CliIO } from "../io.js";

export async function inspect(source: string, opts: CommonOpts & { raw?: boolean; config?: boolean; platform?: string }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  try {
    const i = await client.inspectImage(source, { platform: opts.platform });
    if (opts.raw) {
      io.stdout.write(i.rawManifest.endsWith("\n") ? i.rawManifest : i.rawManifest + "\n");
      return;
    }
    if (opts.config) {
      io.stdout.write(i.rawConfig.endsWith("\n") ? i.rawConfig : i.rawConfig + "\n");
      return;
    }
    const summary = {
      Name: i.name,
      Digest: i.descriptor.digest,
      MediaType: i.descriptor.mediaType,
      ...(i.index ? { Index: i.index.descriptor.digest } : {}),
      Platform: `${i.config.os}/${i.config.architecture}${i.config.variant ? "/" + i.config.variant : ""}`,
      Created: i.config.created,
      Config: i.config.config ?? {},
      Annotations: i.manifest.annotations ?? {},
      Layers: i.manifest.layers.map((l, n) => ({ Digest: l.digest, DiffID: i.config.rootfs.diff_ids[n], Size: l.size, MediaType: l.mediaType })),
      History: i.config.history ?? [],
    };
    io.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  } finally {
    await client.close();
  }
}
