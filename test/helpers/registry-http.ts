/**
 * Plain Distribution API calls against the test registry (no lading code
 * on the way), so tests can read what lading pushed and plant what it must
 * cope with: a manifest edited by hand, a blob of garbage.
 */
import { createHash } from "node:crypto";

const ACCEPT = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.v2+json"].join(", ");

export async function getManifest(host: string, repo: string, reference: string): Promise<{ json: any; bytes: Buffer; mediaType: string }> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${reference}: ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { json: JSON.parse(bytes.toString("utf8")), bytes, mediaType: res.headers.get("content-type") ?? "" };
}

export async function getBlob(host: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob ${repo}@${digest}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Uploads `bytes` in one POST + PUT; returns its descriptor fields. */
export async function putBlob(host: string, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
  const loc = new URL(start.headers.get("location")!, `http://${host}`);
  loc.searchParams.set("digest", digest);
  const put = await fetch(loc, { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
  return { digest, size: bytes.length };
}

export async function putManifest(host: string, repo: string, reference: string, manifest: unknown, mediaType = "application/vnd.oci.image.manifest.v1+json"): Promise<void> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { method: "PUT", body: JSON.stringify(manifest), headers: { "content-type": mediaType } });
  if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${reference}: ${res.status} ${await res.text()}`);
}
