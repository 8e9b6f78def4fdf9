/*
 * rsu_sm2: SM2 signatures (GB/T 32918.2) with SM3 and a caller-given distinguishing identifier, through the
 * OpenSSL 3 that Node itself is linked with (its symbols are exported by the node binary, its headers ship in
 * Node's include/node/openssl). Node's crypto cannot set the SM2 ID (it hashes an empty ID), which is the only
 * reason this addon exists; everything else (PEM parsing, P-256, SM3) stays in Node's crypto.
 *
 * Exports (all synchronous, main thread; presign.c adds the pre-computed signing pool):
 *   publicKey(spkiDer)            -> key handle       (SubjectPublicKeyInfo DER, SM2 curve; compressed point ok)
 *   privateKey(pkcs8Der)          -> key handle
 *   sign(key, msg, id)            -> Buffer(64) r||s
 *   verify(key, msg, rs64, id)    -> boolean
 * Bad arguments throw a TypeError/Error whose message starts with a code: "bad-key: ...", "bad-argument: ...".
 * The OpenSSL error queue is cleared before returning so Node's own crypto never sees our errors.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <string.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "napi call failed: " #call); return NULL; } } while (0)

static void key_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  EVP_PKEY_free((EVP_PKEY *)data);
}

int get_buffer(napi_env env, napi_value v, const unsigned char **p, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type t; size_t n; void *data; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok || t != napi_uint8_array) return 0;
  *p = data; *len = n;
  return 1;
}

static EVP_PKEY *get_key(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value wrap_key(napi_env env, EVP_PKEY *k) {
  napi_value out;
  if (napi_create_external(env, k, key_finalize, NULL, &out) != napi_ok) { EVP_PKEY_free(k); return NULL; }
  return out;
}

static napi_value make_key(napi_env env, napi_callback_info info, int is_private) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const unsigned char *der; size_t len;
  if (argc < 1 || !get_buffer(env, argv[0], &der, &len)) { napi_throw_type_error(env, "bad-argument", "bad-argument: expected a Uint8Array of DER"); return NULL; }
  const unsigned char *q = der;
  EVP_PKEY *k = is_private ? d2i_AutoPrivateKey(NULL, &q, (long)len) : d2i_PUBKEY(NULL, &q, (long)len);
  ERR_clear_error();
  if (k == NULL || q != der + len) { EVP_PKEY_free(k); napi_throw_error(env, "bad-key", "bad-key: not a DER key"); return NULL; }
  if (!EVP_PKEY_is_a(k, "SM2")) { EVP_PKEY_free(k); napi_throw_error(env, "wrong-curve", "wrong-curve: not an SM2 key"); return NULL; }
  return wrap_key(env, k);
}

static napi_value public_key(napi_env env, napi_callback_info info) { return make_key(env, info, 0); }
static napi_value private_key(napi_env env, napi_callback_info info) { return make_key(env, info, 1); }

/* r||s (32+32 octets) to DER ECDSA-Sig-Value; returns length or 0. */
static int rs_to_der(const unsigned char *rs, unsigned char **der) {
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
  if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) { ECDSA_SIG_free(sig); BN_free(r); BN_free(s); return 0; }
  *der = NULL;
  int n = i2d_ECDSA_SIG(sig, der);
  ECDSA_SIG_free(sig);
  return n > 0 ? n : 0;
}

static EVP_MD_CTX *digest_ctx(EVP_PKEY *k, const unsigned char *id, size_t idlen, int sign) {
  EVP_MD_CTX *m = EVP_MD_CTX_new();
  EVP_PKEY_CTX *p = EVP_PKEY_CTX_new(k, NULL);
  if (m == NULL || p == NULL || EVP_PKEY_CTX_set1_id(p, id, idlen) <= 0) goto fail;
  EVP_MD_CTX_set_pkey_ctx(m, p); /* m does not own p: freed by the caller through EVP_MD_CTX_get_pkey_ctx */
  if ((sign ? EVP_DigestSignInit(m, NULL, EVP_sm3(), NULL, k) : EVP_DigestVerifyInit(m, NULL, EVP_sm3(), NULL, k)) <= 0) goto fail;
  return m;
fail:
  EVP_MD_CTX_free(m); EVP_PKEY_CTX_free(p);
  return NULL;
}

static void free_digest_ctx(EVP_MD_CTX *m) {
  EVP_PKEY_CTX *p = EVP_MD_CTX_get_pkey_ctx(m);
  EVP_MD_CTX_free(m);
  EVP_PKEY_CTX_free(p);
}

static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  EVP_PKEY *k = argc >= 4 ? get_key(env, argv[0]) : NULL;
  const unsigned char *msg, *rs, *id; size_t mlen, rslen, idlen;
  if (k == NULL || !get_buffer(env, argv[1], &msg, &mlen) || !get_buffer(env, argv[2], &rs, &rslen) || !get_buffer(env, argv[3], &id, &idlen)) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: verify(key, msg, rs, id)"); return NULL;
  }
  if (rslen != 64) { napi_throw_range_error(env, "bad-signature-length", "bad-signature-length: SM2 r||s is 64 octets"); return NULL; }
  unsigned char *der = NULL;
  int dlen = rs_to_der(rs, &der);
  EVP_MD_CTX *m = dlen ? digest_ctx(k, id, idlen, 0) : NULL;
  int ok = m != NULL && EVP_DigestVerify(m, der, (size_t)dlen, msg, mlen) == 1;
  if (m) free_digest_ctx(m);
  OPENSSL_free(der);
  ERR_clear_error();
  napi_value out;
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value sign(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  EVP_PKEY *k = argc >= 3 ? get_key(env, argv[0]) : NULL;
  const unsigned char *msg, *id; size_t mlen, idlen;
  if (k == NULL || !get_buffer(env, argv[1], &msg, &mlen) || !get_buffer(env, argv[2], &id, &idlen)) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: sign(key, msg, id)"); return NULL;
  }
  unsigned char der[80]; size_t dlen = sizeof der;
  EVP_MD_CTX *m = digest_ctx(k, id, idlen, 1);
  int ok = m != NULL && EVP_DigestSign(m, der, &dlen, msg, mlen) == 1;
  if (m) free_digest_ctx(m);
  napi_value out = NULL;
  if (ok) {
    const unsigned char *q = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
    const BIGNUM *r, *s;
    void *data;
    if (sig != NULL) {
      ECDSA_SIG_get0(sig, &r, &s);
      if (napi_create_buffer(env, 64, &data, &out) == napi_ok) {
        BN_bn2binpad(r, data, 32);
        BN_bn2binpad(s, (unsigned char *)data + 32, 32);
      } else out = NULL;
      ECDSA_SIG_free(sig);
    }
  }
  ERR_clear_error();
  if (out == NULL) napi_throw_error(env, "sign-failed", "sign-failed: not a private SM2 key, or OpenSSL refused");
  return out;
}

napi_status presign_init(napi_env env, napi_value exports); /* presign.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "publicKey", NULL, public_key, NULL, NULL, NULL, napi_enumerable, NULL },
    { "privateKey", NULL, private_key, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sign", NULL, sign, NULL, NULL, NULL, napi_enumerable, NULL },
    { "verify", NULL, verify, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok || presign_init(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
