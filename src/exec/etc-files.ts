/**
 * The files a runtime binds over /etc/hosts, /etc/resolv.conf and
 * /etc/hostname, written into the bundle (docker writes its own too, and
 * they never reach a layer).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const HOSTNAME = "lading";

async function hostResolvConf(): Promise<string> {
  const main = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  // systemd-resolved's stub (127.0.0.53) is unreachable from other network namespaces; use the real upstreams.
  // Reading the host's resolver config is the point (a container resolves as its host does), and
  // a missing or unreadable file only means the stub's copy is used.
  if (/^nameserver\s+127\.0\.0\.53\s*$/m.test(main)) {
    const upstream = await readFile("/run/systemd/resolve/resolv.conf", "utf8").catch(() => "");
    if (upstream) return upstream;
  }
  return main;
}

export async function writeEtcFiles(bundle: string): Promise<Array<{ destination: string; source: string }>> {
  const files: Array<[string, string]> = [
    ["/etc/hosts", `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${HOSTNAME}\n`],
    ["/etc/resolv.conf", await hostResolvConf()],
    ["/etc/hostname", `${HOSTNAME}\n`],
  ];
  const out: Array<{ destination: string; source: string }> = [];
  for (const [destination, text] of files) {
    const source = join(bundle, destination.slice("/etc/".length));
    await writeFile(source, text, { mode: 0o644 });
    out.push({ destination, source });
  }
  return out;
}
