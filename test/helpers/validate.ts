/**
 * validateLayout: checks an OCI image layout the way a strict reader would —
 * the OCI JSON schemas (../shared/oci-schemas beside the repository, via ajv) for every JSON blob,
 * plus what the schemas do not cover: lowercase sha256 digests, blob bytes
 * matching digest and size, diff_ids equal to the uncompressed layers'
 * digests, Env entries with "=", no duplicate paths in a layer.
 */
import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "node:test";
import { createGunzip } from "node:zlib";
import { execFileSync, spawn } from "node:child_process";
import tar from "tar-stream";
import AjvModule from "ajv-draft-04";
import formatsModule from "ajv-formats";
import { sharedPath, skipWithoutShared } from "./shared.js";

// Both packages are CommonJS with a `default` export; under NodeNext the namespace object arrives.
type AjvLike = { addSchema(s: object, key: string): void; getSchema(key: string): ((v: unknown) => boolean) & { errors?: unknown } | undefined };
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => AjvLike;
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (a: AjvLike) => void;

const SCHEMAS = "oci-schemas";
/**
 * Without shared/oci-schemas (someone's own clone, not CI) every other check
 * still runs, and each test that needed the schemas ends reported skipped,
 * with the reason: the hook sees which test called validateJson. Tests in a
 * file run one at a time unless they opt into concurrency, which no
 * validating test does.
 */
const noSchemas = skipWithoutShared(SCHEMAS);
let schemaChecksOmitted = false;
if (noSchemas) {
  afterEach((t) => {
    if (schemaChecksOmitted && "skip" in t) t.skip(`OCI schema checks not run: ${noSchemas}`);
    schemaChecksOmitted = false;
  });
}

const URLS: Record<string, string[]> = {
  "content-descriptor.json": ["https://opencontainers.org/schema/descriptor", "https://opencontainers.org/schema/image/content-descriptor.json"],
  "defs-descriptor.json": ["https://opencontainers.org/schema/defs-descriptor.json", "https://opencontainers.org/schema/image/defs-descriptor.json"],
  "defs.json": ["https://opencontainers.org/schema/defs.json", "https://opencontainers.org/schema/image/defs.json", "https://opencontainers.org/schema/image/descriptor/defs.json"],
  "image-manifest-schema.json": ["https://opencontainers.org/schema/image/manifest"],
  "image-index-schema.json": ["https://opencontainers.org/schema/image/index"],
  "config-schema.json": ["https://opencontainers.org/schema/image/config"],
  "image-layout-schema.json": ["https://opencontainers.org/schema/image/layout"],
};

function stripIds(v: unknown, top = true): unknown {
  if (Array.isArray(v)) return v.map((x) => stripIds(x, false));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "id" || (typeof x !== "string")) out[k] = stripIds(x, false);
    void top;
    return out;
  }
  return v;
}

let ajv: AjvLike | undefined;
function validator(kind: "manifest" | "index" | "config" | "layout") {
  if (!ajv) {
    ajv = new Ajv({ strict: false });
    addFormats(ajv);
    for (const [file, urls] of Object.entries(URLS)) {
      const schema = JSON.parse(readFileSync(join(sharedPath(SCHEMAS), file), "utf8"));
      for (const url of urls) ajv.addSchema(stripIds(schema) as object, url);
    }
  }
  return ajv.getSchema(`https://opencontainers.org/schema/image/${kind}`)!;
}

export function validateJson(kind: "manifest" | "index" | "config" | "layout", value: unknown): void {
  if (noSchemas) {
    schemaChecksOmitted = true;
    return;
  }
  const v = validator(kind);
  if (!v(value)) throw new Error(`${kind} fails the OCI schema: ${JSON.stringify(v.errors)}`);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ValidationReport {
  manifests: number;
  layers: number;
  /** Paths in each layer, in order (for tests that check contents). */
  layerPaths: string[][];
}

/** Validates an OCI layout directory; throws with the first problem. */
export async function validateLayout(dir: string): Promise<ValidationReport> {
  validateJson("layout", JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  validateJson("index", index);
  const report: ValidationReport = { manifests: 0, layers: 0, layerPaths: [] };
  const blob = (d: { digest: string; size: number }) => {
    if (!DIGEST.test(d.digest)) throw new Error(`digest ${d.digest} is not sha256 with 64 lowercase hex`);
    const bytes = readFileSync(join(dir, "blobs", "sha256", d.digest.slice(7)));
    if (bytes.length !== d.size) throw new Error(`blob ${d.digest}: size ${bytes.length} != descriptor size ${d.size}`);
    const got = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    if (got !== d.digest) throw new Error(`blob ${d.digest} hashes to ${got}`);
    return bytes;
  };
  const visit = async (d: { mediaType: string; digest: string; size: number }): Promise<void> => {
    const doc = JSON.parse(blob(d).toString("utf8"));
    if (d.mediaType.includes("index") || d.mediaType.includes("list")) {
      validateJson("index", doc);
      for (const m of doc.manifests) await visit(m);
      return;
    }
    validateJson("manifest", doc);
    if (doc.mediaType && doc.mediaType !== d.mediaType) throw new Error(`manifest ${d.digest}: mediaType ${doc.mediaType} != descriptor ${d.mediaType}`);
    report.manifests++;
    const config = JSON.parse(blob(doc.config).toString("utf8"));
    validateJson("config", config);
    for (const e of config.config?.Env ?? []) if (!String(e).includes("=")) throw new Error(`config Env entry "${e}" has no "="`);
    if (config.rootfs.diff_ids.length !== doc.layers.length) throw new Error(`config has ${config.rootfs.diff_ids.length} diff_ids for ${doc.layers.length} layers`);
    const nonEmpty = (config.history ?? []).filter((h: { empty_layer?: boolean }) => !h.empty_layer).length;
    if (config.history && nonEmpty !== doc.layers.length) throw new Error(`history has ${nonEmpty} non-empty entries for ${doc.layers.length} layers`);
    for (let i = 0; i < doc.layers.length; i++) {
      const l = doc.layers[i];
      blob(l);
      const { diffId, paths } = await readLayer(join(dir, "blobs", "sha256", l.digest.slice(7)), l.mediaType);
      if (diffId !== config.rootfs.diff_ids[i]) throw new Error(`layer ${l.digest}: diff_id ${config.rootfs.diff_ids[i]} != uncompressed digest ${diffId}`);
      const seen = new Set<string>();
      for (const p of paths) {
        const n = p.replace(/\/$/, "");
        if (seen.has(n)) throw new Error(`layer ${l.digest} has duplicate path ${p}`);
        seen.add(n);
      }
      report.layers++;
      report.layerPaths.push(paths);
    }
  };
  for (const m of index.manifests) await visit(m);
  return report;
}

/** Digest of the uncompressed tar and its entry names. */
export async function readLayer(path: string, mediaType: string): Promise<{ diffId: string; paths: string[] }> {
  const h = createHash("sha256");
  const paths: string[] = [];
  const extract = tar.extract();
  let input: NodeJS.ReadableStream = createReadStream(path);
  if (mediaType.endsWith("gzip")) input = input.pipe(createGunzip());
  else if (mediaType.endsWith("zstd")) {
    const child = spawn("zstd", ["-dc", path], { stdio: ["ignore", "pipe", "inherit"] });
    input = child.stdout;
  }
  input.on("data", (c: Buffer) => h.update(c));
  input.pipe(extract);
  for await (const e of extract) {
    paths.push(e.header.name);
    e.resume();
  }
  return { diffId: "sha256:" + h.digest("hex"), paths };
}

/** Unpacks an OCI archive into `dir` (with the system tar) and validates it. */
export async function validateArchive(file: string, dir: string): Promise<ValidationReport> {
  execFileSync("mkdir", ["-p", dir]);
  execFileSync("tar", ["-xf", file, "-C", dir]);
  return validateLayout(dir);
}
