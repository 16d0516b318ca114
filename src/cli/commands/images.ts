import { LadingError } from "../../index.js";
import { openClient, type CommonOpts } from "../client.js";
import type { CliIO } from "../io.js";

export async function images(opts: CommonOpts & { json?: boolean }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  try {
    const list = await client.images();
    if (opts.json) {
      for (const i of list) io.stdout.write(JSON.stringify(i) + "\n");
      return;
    }
    const w = Math.max(4, ...list.map((i) => i.name.length));
    io.stdout.write(`${"NAME".padEnd(w)}  DIGEST\n`);
    for (const i of list) io.stdout.write(`${i.name.padEnd(w)}  ${i.digest}\n`);
  } finally {
    await client.close();
  }
}

export async function rmi(names: string[], opts: CommonOpts, io: CliIO): Promise<void> {
  const client = await openClient(opts, io);
  try {
    const missing: string[] = [];
    for (const n of names) {
      if (await client.removeImage(n)) io.stdout.write(`Untagged: ${n}\n`);
      else missing.push(n);
    }
    if (missing.length) throw new LadingError("NOT_FOUND", `no such image in the store: ${missing.join(", ")}`);
  } finally {
    await client.close();
  }
}
