/**
 * Uploads one blob (distribution-rules §3): HEAD first and skip what the
 * repository has; a cross-repository mount when the store remembers the
 * blob in another repository of the same registry; small blobs in one
 * POST+PUT; large ones in PATCH chunks (`Content-Range: start-end`,
 * inclusive, in order), following each new `Location`.
 *
 * Resume: after a failed chunk, `GET <upload-url>` gives the registry's
 * `Range: 0-<end>` and the upload continues from end+1 instead of starting
 * over. (registry 2.8 cancels a session whose stored size no longer matches
 * the offset in its `_state` — a chunk that broke half-way — and then the
 * status GET fails; only then does the upload start again with a new POST.)
 * A registry that refuses the first ranged chunk gets the blob as one
 * streaming PATCH instead. Every session is closed with PUT, or DELETEd when
 * given up.
 */
import { LadingError } from "../errors.js";
import type { Descriptor } from "../oci/types.js";
import type { RegistryStore } from "./registry-store.js";
import { pushScope, type RegistryWire } from "./wire.js";
import { listOrigins } from "./origins.js";
import type { Reference } from "./reference.js";
import { registryError } from "./transport/errors.js";
import { isNetworkError, sleep } from "./transport/retry.js";
import { discard, header, type HttpRequest } from "./transport/types.js";

/** Reads of a blob being uploaded: 1 MiB at a time, so a large upload is fewer, larger writes than the 64 KiB default (cold push went from 1.08× to 1.01× skopeo). */
const READ_CHUNK = 1 << 20;

export type BlobPushResult = "skipped" | "mounted" | "uploaded";

/** Adds `digest=` to an upload URL without rebuilding its query (registry 2.8 puts signed `_state` there). */
export function withDigestParam(url: URL, digest: string): URL {
  return new URL(url.href + (url.search ? "&" : "?") + "digest=" + encodeURIComponent(digest));
}

function location(res: { url: URL; headers: Record<string, string | string[] | undefined> }, what: string): URL {
  const loc = header(res as never, "location");
  if (!loc) throw new LadingError("REGISTRY", `${what}: the registry answered without a Location header`);
  return new URL(loc, res.url); // may be relative (§1)
}

/** `Range: 0-<end>` → the next offset (end+1); 2.8 sends "0--1" for an empty session. */
function nextOffset(range: string | undefined): number | undefined {
  const m = /^(?:bytes=)?0-(-?\d+)$/.exec(range?.trim() ?? "");
  return m ? Number(m[1]) + 1 : undefined;
}

export async function pushBlob(client: RegistryWire, store: RegistryStore, ref: Reference, desc: Descriptor, signal?: AbortSignal): Promise<BlobPushResult> {
  const progress = client.config.onProgress;
  const what = `blob ${desc.digest} to ${ref.registry}/${ref.repository}`;
  const scopes = [pushScope(ref)];

  const headReq: HttpRequest = { method: "HEAD", url: client.repoUrl(ref, `blobs/${desc.digest}`), scopes };
  const head = await client.send(headReq, signal);
  await discard(head);
  if (head.statusCode === 200) {
    progress?.({ kind: "blob", digest: desc.digest, bytes: desc.size, total: desc.size, done: true, skipped: true });
    return "skipped";
  }
  if (head.statusCode !== 404) throw await registryError(headReq, head, `checking ${what}`);
  if (!(await store.hasBlob(desc.digest, desc.size))) {
    throw new LadingError("NOT_FOUND", `cannot push ${what}: it is not in the store ${store.location} (pull or build the image first)`);
  }

  let session: URL | undefined;
  for (const o of await listOrigins(store, desc.digest)) {
    if (o.registry !== ref.registry || o.repository === ref.repository) continue;
    const mountUrl = client.repoUrl(ref, `blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(o.repository)}`);
    const req: HttpRequest = { method: "POST", url: mountUrl, headers: { "content-length": "0" }, scopes: [...scopes, `repository:${o.repository}:pull`] };
    const res = await client.send(req, signal);
    await discard(res);
    if (res.statusCode === 201) {
      progress?.({ kind: "blob", digest: desc.digest, bytes: desc.size, total: desc.size, done: true, mounted: true });
      return "mounted";
    }
    if (res.statusCode === 202) {
      session = location(res, `mounting ${what}`); // not mounted: the registry opened an ordinary upload instead
      break;
    }
    // Anything else: the mount is an optimisation, fall through to uploading.
  }

  for (let attempt = 1; ; attempt++) {
    try {
      session ??= await startUpload(client, ref, what, signal);
      if (desc.size <= client.config.chunkSize) await putWhole(client, store, desc, session, scopes, what, signal);
      else await putChunked(client, store, desc, session, scopes, what, signal);
      progress?.({ kind: "blob", digest: desc.digest, bytes: desc.size, total: desc.size, done: true });
      return "uploaded";
    } catch (err) {
      const dead = session;
      session = undefined;
      if (dead) await cancelUpload(client, dead, scopes);
      const temporary = isNetworkError(err) || (err as { temporary?: boolean }).temporary === true || (err as LadingError).code === "NETWORK";
      if (signal?.aborted || !temporary || attempt > client.config.retries) throw err;
      await sleep(client.config.retryBaseDelayMs * 2 ** (attempt - 1), signal);
    }
  }
}

async function startUpload(client: RegistryWire, ref: Reference, what: string, signal?: AbortSignal): Promise<URL> {
  const req: HttpRequest = { method: "POST", url: client.repoUrl(ref, "blobs/uploads/"), headers: { "content-length": "0" }, scopes: [pushScope(ref)] };
  const res = await client.send(req, signal);
  if (res.statusCode !== 202) throw await registryError(req, res, `starting the upload of ${what}`);
  await discard(res);
  return location(res, `starting the upload of ${what}`);
}

/** Monolithic: the whole blob in the closing PUT. Not retried by the transport: a half-sent body spoils the session, so the caller starts a new one. */
async function putWhole(client: RegistryWire, store: RegistryStore, desc: Descriptor, session: URL, scopes: string[], what: string, signal?: AbortSignal): Promise<void> {
  const req: HttpRequest = {
    method: "PUT",
    url: withDigestParam(session, desc.digest),
    headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
    body: () => (desc.size === 0 ? Buffer.alloc(0) : store.openBlob(desc.digest, { chunkSize: READ_CHUNK })),
    scopes,
    noRetry: true,
  };
  const res = await client.send(req, signal);
  if (res.statusCode !== 201) throw await registryError(req, res, `uploading ${what}`);
  await discard(res);
}

async function putChunked(client: RegistryWire, store: RegistryStore, desc: Descriptor, start: URL, scopes: string[], what: string, signal?: AbortSignal): Promise<void> {
  let session = start;
  let offset = 0;
  let failures = 0;
  while (offset < desc.size) {
    const end = Math.min(offset + client.config.chunkSize, desc.size) - 1;
    const from = offset;
    const req: HttpRequest = {
      method: "PATCH",
      url: session,
      headers: { "content-type": "application/octet-stream", "content-range": `${from}-${end}`, "content-length": String(end - from + 1) },
      body: () => store.openBlob(desc.digest, { start: from, end, chunkSize: READ_CHUNK }),
      scopes,
      noRetry: true,
    };
    try {
      const res = await client.send(req, signal);
      if (res.statusCode === 202) {
        await discard(res);
        session = location(res, `uploading ${what}`);
        offset = nextOffset(header(res, "range")) ?? end + 1;
        client.config.onProgress?.({ kind: "blob", digest: desc.digest, bytes: offset, total: desc.size });
        continue;
      }
      if (from === 0 && res.statusCode >= 400 && res.statusCode < 500 && ![401, 403, 404, 408, 429].includes(res.statusCode)) {
        // A registry that refuses ranged chunks from the very first one: send the blob as one streaming PATCH instead.
        await discard(res);
        await cancelUpload(client, session, scopes);
        return putStreaming(client, store, desc, await startUploadFor(client, start, scopes, what, signal), scopes, what, signal);
      }
      if (res.statusCode !== 416 && !(res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408)) {
        throw await registryError(req, res, `uploading ${what} (bytes ${from}-${end})`);
      }
      await discard(res);
    } catch (err) {
      if (signal?.aborted || !(isNetworkError(err) || (err as LadingError).code === "NETWORK")) throw err;
    }
    // The chunk failed: ask the registry how far it got, and carry on from there.
    if (++failures > client.config.retries) throw new LadingError("NETWORK", `${what}: chunk upload failed ${failures} times at byte ${from}`);
    await sleep(client.config.retryBaseDelayMs * 2 ** (failures - 1), signal);
    const status = await uploadStatus(client, session, scopes, what, signal);
    session = status.session;
    offset = status.offset;
  }
  const closeReq: HttpRequest = { method: "PUT", url: withDigestParam(session, desc.digest), headers: { "content-length": "0" }, scopes };
  const res = await client.send(closeReq, signal);
  if (res.statusCode !== 201) throw await registryError(closeReq, res, `completing the upload of ${what}`);
  await discard(res);
}

/** The whole blob in one PATCH without Content-Range (what docker and containers/image send), then the closing PUT. */
async function putStreaming(client: RegistryWire, store: RegistryStore, desc: Descriptor, session: URL, scopes: string[], what: string, signal?: AbortSignal): Promise<void> {
  const req: HttpRequest = {
    method: "PATCH",
    url: session,
    headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
    body: () => store.openBlob(desc.digest, { chunkSize: READ_CHUNK }),
    scopes,
    noRetry: true,
  };
  const res = await client.send(req, signal);
  if (res.statusCode !== 202 && res.statusCode !== 204) throw await registryError(req, res, `uploading ${what} in one stream`);
  await discard(res);
  const next = header(res, "location") ? location(res, `uploading ${what}`) : session;
  const closeReq: HttpRequest = { method: "PUT", url: withDigestParam(next, desc.digest), headers: { "content-length": "0" }, scopes };
  const done = await client.send(closeReq, signal);
  if (done.statusCode !== 201) throw await registryError(closeReq, done, `completing the upload of ${what}`);
  await discard(done);
}

/** A new upload session in the repository of the upload URL `like` (`/v2/<name>/blobs/uploads/…`). */
async function startUploadFor(client: RegistryWire, like: URL, scopes: string[], what: string, signal?: AbortSignal): Promise<URL> {
  const url = new URL(like.pathname.replace(/\/blobs\/uploads\/.*$/, "/blobs/uploads/"), like);
  const req: HttpRequest = { method: "POST", url, headers: { "content-length": "0" }, scopes };
  const res = await client.send(req, signal);
  if (res.statusCode !== 202) throw await registryError(req, res, `starting the upload of ${what}`);
  await discard(res);
  return location(res, `starting the upload of ${what}`);
}

async function uploadStatus(client: RegistryWire, session: URL, scopes: string[], what: string, signal?: AbortSignal): Promise<{ session: URL; offset: number }> {
  const req: HttpRequest = { method: "GET", url: session, scopes };
  const res = await client.send(req, signal);
  if (res.statusCode !== 204 && res.statusCode !== 200) {
    // The session is gone (2.8 cancels it after a partial chunk): the caller starts a new one.
    const err = await registryError(req, res, `asking how much of ${what} arrived`);
    throw new LadingError("NETWORK", `${err.message}; the upload will start over`, { cause: err });
  }
  await discard(res);
  const loc = header(res, "location");
  return { session: loc ? new URL(loc, res.url) : session, offset: nextOffset(header(res, "range")) ?? 0 };
}

async function cancelUpload(client: RegistryWire, session: URL, scopes: string[]): Promise<void> {
  try {
    const res = await client.send({ method: "DELETE", url: session, scopes, noRetry: true });
    await discard(res);
  } catch {
    // §3: cancelling is a courtesy; failures are ignored
  }
}
