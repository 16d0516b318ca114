import { openClient, type CommonOpts } from "../client.js";
import type { CliIO } from "../io.js";
import { parseOutput } from "../output-spec.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { readEnvConfig } from "../../env-config.js";

export async function pull(ref: string, opts: CommonOpts & { output?: string; platform?: string; progress: ProgressMode }, io: CliIO): Promise<void> {
  const progress = await createProgress(opts.progress, io.stderr, readEnvConfig(io.env).debug);
  const client = await openClient({ ...opts, pull: "always" }, io, progress.listener, {}, "lading pull");
  try {
    const image = client.container(opts.platform ? { platform: opts.platform } : {}).from(ref);
    const digest = await image.digest();
    await image.tag(ref);
    if (opts.output) {
      const out = parseOutput(opts.output);
      if (out.type === "oci-layout") await image.exportLayout(out.dest, { tag: out.name ?? "latest" });
      else await image.export(out.dest, { mediaTypes: out.type === "docker" ? "Docker" : "OCI", tag: ref });
    }
    progress.stop();
    io.stdout.write(digest + "\n");
  } finally {
    progress.stop();
    await client.close();
  }
}

export async function push(source: string, ref: string | undefined, opts: CommonOpts & { format?: "oci" | "docker"; progress: ProgressMode }, io: CliIO): Promise<void> {
  const progress = await createProgress(opts.progress, io.stderr, readEnvConfig(io.env).debug);
  const client = await openClient({ ...opts, pull: "never" }, io, progress.listener, {}, "lading push");
  try {
    const image = client.container().from(source);
    const pushed = await image.publish(ref ?? source, opts.format ? { mediaTypes: opts.format === "docker" ? "Docker" : "OCI" } : {});
    progress.stop();
    io.stdout.write(pushed + "\n");
  } finally {
    progress.stop();
    await client.close();
  }
}
