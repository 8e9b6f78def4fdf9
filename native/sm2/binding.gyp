{
  "targets": [
    {
      "target_name": "rsu_sm2",
      "sources": ["sm2.c", "presign.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"]
    }
  ]
}
