/** `lading df`, `lading prune`, `lading fsck`: the store's upkeep, through the public API. */
import { LadingError, type DiskUsage, type FsckResult, type PruneResult } from "../../index.js";
import { openClient, type CommonOpts } from "../client.js";
import { UsageError, type CliIO } from "../io.js";

/** Human sizes in powers of 1000, like docker's (and the policy's "10GB"). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

export async function df(opts: CommonOpts & { json?: boolean }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  try {
    const r: DiskUsage = await client.df();
    if (opts.json) {
      io.stdout.write(JSON.stringify(r) + "\n");
      return;
    }
    const rows: Array<[string, number]> = [
      ["images", r.usage.images],
      ["layers", r.usage.layers],
      ["snapshots", r.usage.snapshots],
      ["op cache", r.usage.opCache],
      ["cache volumes", r.usage.cacheVolumes],
      ["git mirrors", r.usage.gitMirrors],
      ["build modules", r.usage.modules],
      ["other", r.usage.other],
      ["total", r.usage.total],
      ["reclaimable", r.reclaimable],
    ];
    io.stdout.write(`${"KIND".padEnd(14)}SIZE\n`);
    for (const [k, v] of rows) io.stdout.write(`${k.padEnd(14)}${formatBytes(v)}\n`);
    io.stdout.write(`\ndisk: ${formatBytes(r.disk.total)} total, ${formatBytes(r.disk.free)} free\n`);
    if (r.policy) {
      io.stdout.write(`policy: reserved space ${formatBytes(r.policy.reservedSpace)}, max used space ${formatBytes(r.policy.maxUsedSpace)}, min free space ${formatBytes(r.policy.minFreeSpace)}\n`);
      if (r.dueBytes > 0) io.stdout.write(`over the policy by ${formatBytes(r.dueBytes)}: the next build collects it (or run \`lading prune\`)\n`);
    } else {
      io.stdout.write("policy: automatic collection is off\n");
    }
  } finally {
    await client.close();
  }
}

export interface PruneCliOptions extends CommonOpts {
  all?: boolean;
  keepStorage?: string;
  filter: string[];
  json?: boolean;
}

export async function prune(opts: PruneCliOptions, io: CliIO): Promise<void> {
  let until: string | undefined;
  for (const f of opts.filter) {
    const m = /^until=(.+)$/.exec(f);
    if (!m) throw new UsageError(`--filter ${f}: only until=DURATION (e.g. until=24h) is supported`);
    until = m[1];
  }
  const client = await openClient(opts, io);
  try {
    const r: PruneResult = await client.prune({ all: !!opts.all, ...(opts.keepStorage !== undefined ? { keepStorage: opts.keepStorage } : {}), ...(until ? { until } : {}) });
    if (opts.json) {
      io.stdout.write(JSON.stringify(r) + "\n");
      return;
    }
    for (const n of r.untagged) io.stdout.write(`untagged ${n}\n`);
    for (const i of r.removed) io.stdout.write(`removed ${i.kind.padEnd(8)} ${i.id}  ${formatBytes(i.size)}\n`);
    io.stdout.write(`Total reclaimed space: ${formatBytes(r.freed)} (${r.removed.length} items)\n`);
  } finally {
    await client.close();
  }
}

export async function fsck(opts: CommonOpts & { repair?: boolean; json?: boolean }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  let r: FsckResult;
  try {
    r = await client.fsck({ repair: !!opts.repair });
  } finally {
    await client.close();
  }
  if (opts.json) io.stdout.write(JSON.stringify(r) + "\n");
  else {
    for (const p of r.problems) io.stdout.write(`${p.kind}: ${p.path}: ${p.message}${p.repaired ? ` — ${p.repaired}` : ""}\n`);
    const c = r.checked;
    io.stdout.write(`checked ${c.blobs} blobs, ${c.names} names, ${c.records} op-cache records, ${c.pins} pins, ${c.snapshots} snapshots: ${r.problems.length} problem(s)${opts.repair ? ", repaired" : ""}` + (r.tempFiles ? `; ${r.tempFiles} temp file(s) of dead processes (swept by the next run)` : "") + "\n");
  }
  if (!r.ok) throw new LadingError("STORE_CORRUPT", `the store has ${r.problems.length} problem(s); run \`lading fsck --repair\` to remove what is broken`);
}
