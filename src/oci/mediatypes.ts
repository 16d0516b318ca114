export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export type Compression = "Gzip" | "Zstd" | "Uncompressed" | "EStarGZ";

export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}
export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

/** The compression a layer media type says its bytes have. */
export function layerCompression(mt: string): "gzip" | "zstd" | "none" {
  if (mt.endsWith("+gzip") || mt.endsWith(".tar.gzip") || mt.endsWith("tar.gzip")) return "gzip";
  if (mt.endsWith("+zstd") || mt.endsWith(".tar.zstd")) return "zstd";
  return "none";
}

/** The layer media type for a compression in OCI or Docker flavour. */
export function layerMediaType(compression: "gzip" | "zstd" | "none", flavour: "OCI" | "Docker"): string {
  if (flavour === "Docker") {
    if (compression === "gzip") return MediaType.dockerLayerGzip;
    if (compression === "zstd") return "application/vnd.docker.image.rootfs.diff.tar.zstd";
    return "application/vnd.docker.image.rootfs.diff.tar";
  }
  if (compression === "gzip") return MediaType.ociLayerGzip;
  if (compression === "zstd") return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}
