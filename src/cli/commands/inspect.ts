import { openClient, type CommonOpts } from "../client.js";
import type { CliIO } from "../io.js";
import type { Descriptor, ImageIndex, ImageInspection } from "../../index.js";

export async function inspect(source: string, opts: CommonOpts & { raw?: boolean; config?: boolean; platform?: string }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  try {
    // Without --platform an index is shown whole, even when it has nothing for this machine.
    const i = await client.inspectImage(source, { platform: opts.platform, anyPlatform: opts.platform === undefined && !opts.raw && !opts.config });
    if (opts.raw) {
      io.stdout.write(i.rawManifest.endsWith("\n") ? i.rawManifest : i.rawManifest + "\n");
      return;
    }
    if (opts.config) {
      io.stdout.write(i.rawConfig.endsWith("\n") ? i.rawConfig : i.rawConfig + "\n");
      return;
    }
    // An index with no platform asked for: what it holds, one row per platform (`--platform` shows one of them).
    if (i.index && opts.platform === undefined) {
      io.stdout.write(indexTable(i, client.defaultPlatform()));
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

function platformOf(d: Descriptor): string {
  const p = d.platform;
  return p ? `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}` : "(none)";
}

/** The index as text: its name and digest, then a table of its manifests (platform, digest, size, annotations). */
function indexTable(i: ImageInspection, host: string): string {
  const index = JSON.parse(i.index!.raw) as ImageIndex;
  const rows = [["PLATFORM", "DIGEST", "SIZE", "ANNOTATIONS"]];
  for (const m of index.manifests) {
    const platform = platformOf(m);
    const annotations = Object.entries(m.annotations ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
    rows.push([platform === host ? `${platform} *` : platform, m.digest, String(m.size), annotations]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ").trimEnd()).join("\n");
  return (
    `Name:       ${i.name}\n` +
    `Digest:     ${i.index!.descriptor.digest}\n` +
    `MediaType:  ${index.mediaType ?? i.index!.descriptor.mediaType}\n` +
    `Platforms:  ${index.manifests.length} (* this machine's; lading inspect --platform OS/ARCH shows one)\n\n` +
    table +
    "\n"
  );
}
