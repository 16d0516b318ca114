{
  "targets": [
    {
      "target_name": "lading_deflate",
      "sources": [
        "native/lading_deflate.c",
        "vendor/libdeflate/src/lib/deflate_compress.c",
        "vendor/libdeflate/src/lib/utils.c"
      ],
      "include_dirs": ["vendor/libdeflate/src"],
      "defines": ["NDEBUG"],
      "cflags": ["-O2", "-Wno-sign-compare"]
    },
    {
      "target_name": "lading_sha256",
      "sources": ["native/lading_sha256.c"],
      "defines": ["NDEBUG"],
      "cflags": ["-O2"]
    },
    {
      "target_name": "lading_mount",
      "sources": ["native/lading_mount.c"],
      "cflags": ["-O2"]
    }
  ]
}
