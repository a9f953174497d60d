# node-gyp build of the native /dev/mem bridge; run by scripts/build-bridge.mjs (`npm ci` runs it
# as the package's install step), with this folder as node-gyp's directory.
{
  "targets": [
    {
      "target_name": "devmem",
      "sources": ["devmem.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": [
        "NAPI_VERSION=8",
        # 64-bit file offsets on 32-bit Arm too: physical addresses above 4 GiB reach mmap intact.
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
