/*
 * Pre-computed signatures for the frame path: ECDSA P-256 (SHA-256) and SM2 (SM3, with an ID), split into the part
 * that does not depend on the message (a random k, the point kG, inverses: the expensive scalar multiplication) and
 * the part that does (a few multiplications modulo n). A background thread fills a bounded pool with the first
 * part; the frame path takes one entry per signature and does only the second. This is what OpenSSL's
 * ECDSA_sign_setup + ECDSA_do_sign_ex did (deprecated in 3.0, and never for SM2).
 *
 * Why C over OpenSSL's BIGNUM rather than JS (BigInt or crypto.createECDH for kG): the private key and k stay
 * inside OpenSSL, in constant-time code (Montgomery multiplication; k from OpenSSL's private DRBG; kG by OpenSSL's
 * constant-time ladder / nistz256), and the pool is filled on a thread of its own so its cost never sits in the
 * frame path. BigInt arithmetic is variable-time and would put the private key on the JS heap.
 *
 * Side channels: the in-path products with the private key are blinded by a random b per entry (as OpenSSL's own
 * ECDSA does): the key is only ever multiplied by b·r, never by the public r.
 *
 *   ECDSA (SEC 1 4.1.3): entry = r = x(kG) mod n, b·r, b (Montgomery form), (k·b)^-1 (Montgomery form)
 *       s = (b·e + (b·r)·d) · (k·b)^-1 = k^-1 (e + r·d)  mod n                       (retry if s = 0)
 *   SM2 (GB/T 32918.2 6.1): entry = x1 = x(kG) mod n, b (Montgomery), b·k, b^-1 (1+d)^-1 (Montgomery)
 *       r = e + x1; s = (b·k − (b·r)·d) · b^-1 (1+d)^-1 = (1+d)^-1 (k − r·d)  mod n   (retry if r = 0, r + k = n, s = 0)
 *
 * Each entry is used once: copied out and zeroed in the pool before its first use; a retry takes the next entry.
 * An empty pool answers null and the caller signs directly (never blocks, never reuses). Closing a pool (the key
 * rotated, the handle collected, the process exiting) stops its thread and zeroes every entry.
 *
 * Exports:
 *   presignPool(curve "P-256"|"SM2", pkcs8Der, id, capacity) -> pool   (the thread starts filling at once)
 *   presignSign(pool, msg)                                     -> Buffer(64) r||s, or null when the pool is empty
 *   presignAvailable(pool)                                     -> entries ready now
 *   presignClose(pool)
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CAPACITY 1024

typedef struct { unsigned char v[4][32]; } entry_t;

typedef struct pool {
  int sm2;
  /* per key, read-only after creation (both threads) */
  BIGNUM *n, *n_minus_2, *dR; /* d in Montgomery form */
  BIGNUM *dinv1;              /* SM2: (1+d)^-1 mod n */
  unsigned char z[32];        /* SM2: Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) */
  /* the ring: the thread produces at head, the JS thread consumes at tail; free_slots counts empty slots */
  entry_t *slots;
  size_t capacity;
  _Atomic size_t head, tail;
  sem_t free_slots;
  atomic_int stop;
  pthread_t thread;
  int joined;
  int freed;
  /* consumer side (JS thread only) */
  EC_GROUP *group_js;
  BN_MONT_CTX *mont_js;
  BN_CTX *ctx_js;
  struct pool *prev, *next; /* all live pools, for the exit handler */
} pool_t;

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_t *pools = NULL;
static int exit_hook = 0;

static void stop_thread(pool_t *p) {
  if (p->joined) return;
  atomic_store(&p->stop, 1);
  sem_post(&p->free_slots);
  pthread_join(p->thread, NULL);
  p->joined = 1;
}

/* OpenSSL frees its DRBGs in its own atexit handler, registered before ours: stop every thread first. */
static void stop_all_at_exit(void) {
  pthread_mutex_lock(&pools_lock);
  for (pool_t *p = pools; p != NULL; p = p->next) stop_thread(p);
  pthread_mutex_unlock(&pools_lock);
}

static void pool_free(pool_t *p) {
  if (p->freed) return;
  p->freed = 1;
  pthread_mutex_lock(&pools_lock);
  stop_thread(p);
  if (p->prev) p->prev->next = p->next; else if (pools == p) pools = p->next;
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
  pthread_mutex_unlock(&pools_lock);
  if (p->slots) { OPENSSL_cleanse(p->slots, p->capacity * sizeof(entry_t)); free(p->slots); p->slots = NULL; }
  BN_free(p->n); BN_free(p->n_minus_2); BN_clear_free(p->dR); BN_clear_free(p->dinv1);
  OPENSSL_cleanse(p->z, sizeof p->z);
  EC_GROUP_free(p->group_js); BN_MONT_CTX_free(p->mont_js); BN_CTX_free(p->ctx_js);
  sem_destroy(&p->free_slots);
  p->n = p->n_minus_2 = p->dR = p->dinv1 = NULL; p->group_js = NULL; p->mont_js = NULL; p->ctx_js = NULL;
}

static int put32(unsigned char *out, const BIGNUM *x) { return BN_bn2binpad(x, out, 32) == 32; }

/* x * y mod n, both < n, constant time in the values: y to Montgomery form, then one Montgomery product. */
static int mulmod(BIGNUM *r, const BIGNUM *x, const BIGNUM *y, BN_MONT_CTX *m, BN_CTX *ctx) {
  BN_CTX_start(ctx);
  BIGNUM *t = BN_CTX_get(ctx);
  int ok = t != NULL && BN_to_montgomery(t, y, m, ctx) && BN_mod_mul_montgomery(r, x, t, m, ctx);
  if (t) BN_clear(t);
  BN_CTX_end(ctx);
  return ok;
}

/* a^-1 mod n by Fermat (a^(n-2)), constant time. */
static int invmod(BIGNUM *r, const BIGNUM *a, const pool_t *p, BN_MONT_CTX *m, BN_CTX *ctx) {
  return BN_mod_exp_mont_consttime(r, a, p->n_minus_2, p->n, ctx, m);
}

/* One entry: a fresh k and b, kG, and the products of the header comment. 0 on an OpenSSL failure. */
static int make_entry(const pool_t *p, const EC_GROUP *g, BN_MONT_CTX *m, BN_CTX *ctx, entry_t *out) {
  int ok = 0;
  EC_POINT *kg = EC_POINT_new(g);
  BN_CTX_start(ctx);
  BIGNUM *k = BN_CTX_get(ctx), *b = BN_CTX_get(ctx), *x = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *u = BN_CTX_get(ctx);
  if (kg == NULL || u == NULL) goto done;
  BN_set_flags(k, BN_FLG_CONSTTIME);
  BN_set_flags(b, BN_FLG_CONSTTIME);
  do {
    do { if (!BN_priv_rand_range_ex(k, p->n, 0, ctx)) goto done; } while (BN_is_zero(k));
    if (!EC_POINT_mul(g, kg, k, NULL, NULL, ctx) || !EC_POINT_get_affine_coordinates(g, kg, x, NULL, ctx) || !BN_nnmod(x, x, p->n, ctx)) goto done;
  } while (!p->sm2 && BN_is_zero(x)); /* ECDSA: r = 0 takes another k */
  do { if (!BN_priv_rand_range_ex(b, p->n, 0, ctx)) goto done; } while (BN_is_zero(b));
  if (!put32(out->v[0], x)) goto done;                                   /* r (ECDSA) or x1 (SM2) */
  if (!BN_to_montgomery(t, b, m, ctx) || !put32(out->v[2], t)) goto done; /* b, Montgomery form */
  if (!p->sm2) {
    if (!mulmod(t, b, x, m, ctx) || !put32(out->v[1], t)) goto done;        /* b·r */
    if (!mulmod(t, k, b, m, ctx) || !invmod(u, t, p, m, ctx)) goto done;    /* (k·b)^-1 */
  } else {
    if (!mulmod(t, b, k, m, ctx) || !put32(out->v[1], t)) goto done;        /* b·k */
    if (!invmod(t, b, p, m, ctx) || !mulmod(u, t, p->dinv1, m, ctx)) goto done; /* b^-1 (1+d)^-1 */
  }
  if (!BN_to_montgomery(t, u, m, ctx) || !put32(out->v[3], t)) goto done;
  ok = 1;
done:
  if (u) { BN_clear(k); BN_clear(b); BN_clear(x); BN_clear(t); BN_clear(u); }
  BN_CTX_end(ctx);
  EC_POINT_free(kg);
  ERR_clear_error();
  if (!ok) OPENSSL_cleanse(out, sizeof *out);
  return ok;
}

static void *refill(void *arg) {
  pool_t *p = arg;
  /* Idle time: the lowest priority, so that the frame path preempts it (Linux: per-thread nice). A thread inherits
   * its creator's policy: under a real-time daemon (chrt, systemd CPUSchedulingPolicy=fifo) it would otherwise run
   * whole refills ahead of the frame path on the same core, so it drops to SCHED_OTHER first. */
  struct sched_param normal = { 0 };
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
  EC_GROUP *g = EC_GROUP_new_by_curve_name(p->sm2 ? NID_sm2 : NID_X9_62_prime256v1);
  BN_CTX *ctx = BN_CTX_secure_new();
  BN_MONT_CTX *m = BN_MONT_CTX_new();
  if (g == NULL || ctx == NULL || m == NULL || !BN_MONT_CTX_set(m, p->n, ctx)) goto out;
  for (;;) {
    while (sem_wait(&p->free_slots) != 0) {}
    if (atomic_load(&p->stop)) break;
    size_t h = atomic_load_explicit(&p->head, memory_order_relaxed);
    if (!make_entry(p, g, m, ctx, &p->slots[h % p->capacity])) { sem_post(&p->free_slots); break; } /* OpenSSL failing: stop filling; signing goes direct */
    atomic_store_explicit(&p->head, h + 1, memory_order_release);
  }
out:
  ERR_clear_error();
  BN_MONT_CTX_free(m); BN_CTX_free(ctx); EC_GROUP_free(g);
  return NULL;
}

/* Z of GB/T 32918.2 5.5 for the key's public point and the ID. */
static int sm2_z(const EC_GROUP *g, EVP_PKEY *k, const unsigned char *id, size_t idlen, unsigned char *z, BN_CTX *ctx) {
  int ok = 0;
  unsigned char buf[6 * 32], pub[65]; size_t publen = 0;
  unsigned char entl[2] = { (unsigned char)((idlen * 8) >> 8), (unsigned char)(idlen * 8) };
  EVP_MD_CTX *h = EVP_MD_CTX_new();
  BN_CTX_start(ctx);
  BIGNUM *a = BN_CTX_get(ctx), *b = BN_CTX_get(ctx), *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
  if (h == NULL || y == NULL || idlen > 8191) goto done;
  if (!EC_GROUP_get_curve(g, NULL, a, b, ctx) || !EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, ctx)) goto done;
  if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &publen) || publen != 65 || pub[0] != 4) goto done;
  if (!put32(buf, a) || !put32(buf + 32, b) || !put32(buf + 64, x) || !put32(buf + 96, y)) goto done;
  memcpy(buf + 128, pub + 1, 64);
  ok = EVP_DigestInit_ex(h, EVP_sm3(), NULL) && EVP_DigestUpdate(h, entl, 2) && EVP_DigestUpdate(h, id, idlen) && EVP_DigestUpdate(h, buf, sizeof buf) && EVP_DigestFinal_ex(h, z, NULL);
done:
  BN_CTX_end(ctx);
  EVP_MD_CTX_free(h);
  return ok;
}

int get_buffer(napi_env env, napi_value v, const unsigned char **p, size_t *len); /* sm2.c */

static void pool_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  pool_free(data);
  free(data);
}

static pool_t *get_pool(napi_env env, napi_value v) {
  napi_valuetype t; void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value presign_pool(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4];
  char curve[8] = ""; size_t clen = 0; uint32_t cap = 0;
  const unsigned char *der, *id; size_t derlen, idlen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_string_utf8(env, argv[0], curve, sizeof curve, &clen) != napi_ok || !get_buffer(env, argv[1], &der, &derlen) ||
      !get_buffer(env, argv[2], &id, &idlen) || napi_get_value_uint32(env, argv[3], &cap) != napi_ok || cap < 1 || cap > MAX_CAPACITY) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: presignPool(\"P-256\"|\"SM2\", pkcs8Der, id, capacity 1..1024)");
    return NULL;
  }
  int sm2 = strcmp(curve, "SM2") == 0;
  if (!sm2 && strcmp(curve, "P-256") != 0) { napi_throw_type_error(env, "bad-argument", "bad-argument: curve is P-256 or SM2"); return NULL; }
  pool_t *p = calloc(1, sizeof *p);
  const unsigned char *q = der;
  EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &q, (long)derlen);
  BIGNUM *d = NULL, *t = NULL;
  const char *err = "bad-key: not a private key of the curve";
  if (p == NULL) { err = "sign-failed: out of memory"; goto fail; }
  p->sm2 = sm2;
  p->capacity = cap;
  sem_init(&p->free_slots, 0, cap);
  p->joined = 1; /* no thread yet */
  p->slots = calloc(cap, sizeof(entry_t));
  p->ctx_js = BN_CTX_secure_new();
  p->mont_js = BN_MONT_CTX_new();
  p->group_js = EC_GROUP_new_by_curve_name(sm2 ? NID_sm2 : NID_X9_62_prime256v1);
  p->n = BN_new(); p->n_minus_2 = BN_new(); p->dR = BN_secure_new(); t = BN_secure_new();
  if (k == NULL || q != der + derlen || !EVP_PKEY_is_a(k, sm2 ? "SM2" : "EC")) goto fail;
  if (!sm2) {
    char name[32]; size_t nlen = 0;
    if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &nlen) || strcmp(name, "prime256v1") != 0) goto fail;
  }
  err = "sign-failed: OpenSSL could not set up the pool";
  if (p->slots == NULL || p->ctx_js == NULL || p->mont_js == NULL || p->group_js == NULL || p->n == NULL || p->n_minus_2 == NULL || p->dR == NULL || t == NULL) goto fail;
  if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d)) goto fail;
  BN_set_flags(d, BN_FLG_CONSTTIME);
  if (!BN_copy(p->n, EC_GROUP_get0_order(p->group_js)) || !BN_sub(p->n_minus_2, p->n, BN_value_one()) || !BN_sub_word(p->n_minus_2, 1) ||
      !BN_MONT_CTX_set(p->mont_js, p->n, p->ctx_js) || !BN_to_montgomery(p->dR, d, p->mont_js, p->ctx_js)) goto fail;
  if (sm2) {
    p->dinv1 = BN_secure_new();
    if (p->dinv1 == NULL || !BN_add(t, d, BN_value_one()) || !BN_nnmod(t, t, p->n, p->ctx_js) || BN_is_zero(t) ||
        !invmod(p->dinv1, t, p, p->mont_js, p->ctx_js) || !sm2_z(p->group_js, k, id, idlen, p->z, p->ctx_js)) goto fail;
  }
  BN_clear_free(d); d = NULL;
  BN_clear_free(t); t = NULL;
  EVP_PKEY_free(k); k = NULL;
  pthread_mutex_lock(&pools_lock);
  if (!exit_hook) { atexit(stop_all_at_exit); exit_hook = 1; }
  /* The thread blocks every signal (it inherits the mask at creation): the daemon's handlers run on Node's thread. */
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &prev);
  int started = pthread_create(&p->thread, NULL, refill, p) == 0;
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  if (!started) { pthread_mutex_unlock(&pools_lock); err = "sign-failed: cannot start the refill thread"; goto fail; }
  p->joined = 0;
  p->next = pools; if (pools) pools->prev = p; pools = p;
  pthread_mutex_unlock(&pools_lock);
  ERR_clear_error();
  napi_value out;
  if (napi_create_external(env, p, pool_finalize, NULL, &out) != napi_ok) { pool_free(p); free(p); napi_throw_error(env, NULL, "napi_create_external failed"); return NULL; }
  return out;
fail:
  ERR_clear_error();
  BN_clear_free(d); BN_clear_free(t); EVP_PKEY_free(k);
  if (p) { pool_free(p); free(p); }
  napi_throw_error(env, err[0] == 'b' ? "bad-key" : "sign-failed", err);
  return NULL;
}

/* The in-path part for one entry; -1: this entry cannot give a signature (r = 0, r + k = n, s = 0), take the next. */
static int finish(pool_t *p, const entry_t *en, const unsigned char *digest, unsigned char *rs) {
  BN_CTX *ctx = p->ctx_js; BN_MONT_CTX *m = p->mont_js;
  int ok = 0;
  BN_CTX_start(ctx);
  BIGNUM *e = BN_CTX_get(ctx), *x = BN_CTX_get(ctx), *bb = BN_CTX_get(ctx), *c = BN_CTX_get(ctx), *r = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *u = BN_CTX_get(ctx);
  if (u == NULL) goto done;
  if (!BN_bin2bn(digest, 32, e) || !BN_nnmod(e, e, p->n, ctx) || !BN_bin2bn(en->v[0], 32, x) || !BN_bin2bn(en->v[1], 32, bb) ||
      !BN_bin2bn(en->v[2], 32, t) || !BN_bin2bn(en->v[3], 32, c)) goto done;
  if (!p->sm2) {
    /* bb = b·r; t = b (Montgomery); c = (k·b)^-1 (Montgomery) */
    if (!BN_mod_mul_montgomery(u, e, t, m, ctx) || !BN_mod_mul_montgomery(t, bb, p->dR, m, ctx) ||  /* u = b·e, t = b·r·d */
        !BN_mod_add_quick(u, u, t, p->n) || !BN_mod_mul_montgomery(u, u, c, m, ctx)) goto done;  /* s */
    if (BN_is_zero(u)) { ok = -1; goto done; }
    ok = put32(rs, x) && put32(rs + 32, u);
  } else {
    /* x = x1; bb = b·k; t = b (Montgomery); c = b^-1 (1+d)^-1 (Montgomery) */
    if (!BN_mod_add(r, e, x, p->n, ctx)) goto done;
    if (BN_is_zero(r)) { ok = -1; goto done; }
    if (!BN_mod_mul_montgomery(t, r, t, m, ctx) || !BN_mod_add_quick(u, t, bb, p->n)) goto done; /* t = b·r; u = b(r + k) */
    if (BN_is_zero(u)) { ok = -1; goto done; }
    if (!BN_mod_mul_montgomery(t, t, p->dR, m, ctx) || !BN_mod_sub_quick(u, bb, t, p->n) ||     /* u = b(k − r·d) */
        !BN_mod_mul_montgomery(u, u, c, m, ctx)) goto done;                                     /* s */
    if (BN_is_zero(u)) { ok = -1; goto done; }
    ok = put32(rs, r) && put32(rs + 32, u);
  }
done:
  if (u) { BN_clear(x); BN_clear(bb); BN_clear(c); BN_clear(t); BN_clear(u); }
  BN_CTX_end(ctx);
  return ok;
}

static napi_value presign_sign(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  const unsigned char *msg; size_t mlen;
  pool_t *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || (p = get_pool(env, argv[0])) == NULL || !get_buffer(env, argv[1], &msg, &mlen)) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: presignSign(pool, msg)"); return NULL;
  }
  napi_value out;
  if (p->slots == NULL) { napi_get_null(env, &out); return out; } /* closed */
  unsigned char digest[32], rs[64];
  unsigned int dlen = 0;
  EVP_MD_CTX *h = EVP_MD_CTX_new();
  int hashed = h != NULL && EVP_DigestInit_ex(h, p->sm2 ? EVP_sm3() : EVP_sha256(), NULL) &&
               (!p->sm2 || EVP_DigestUpdate(h, p->z, 32)) && EVP_DigestUpdate(h, msg, mlen) && EVP_DigestFinal_ex(h, digest, &dlen) && dlen == 32;
  EVP_MD_CTX_free(h);
  int res = 0;
  while (hashed) {
    size_t tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
    if (tail == atomic_load_explicit(&p->head, memory_order_acquire)) break; /* empty: the caller signs directly */
    entry_t en;
    memcpy(&en, &p->slots[tail % p->capacity], sizeof en);
    OPENSSL_cleanse(&p->slots[tail % p->capacity], sizeof en);
    atomic_store_explicit(&p->tail, tail + 1, memory_order_release);
    sem_post(&p->free_slots);
    res = finish(p, &en, digest, rs);
    OPENSSL_cleanse(&en, sizeof en);
    if (res != -1) break;
  }
  ERR_clear_error();
  if (res == 1) {
    void *data;
    if (napi_create_buffer_copy(env, 64, rs, &data, &out) != napi_ok) out = NULL;
  } else napi_get_null(env, &out);
  OPENSSL_cleanse(rs, sizeof rs);
  return out;
}

static napi_value presign_available(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; pool_t *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || (p = get_pool(env, argv[0])) == NULL) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: presignAvailable(pool)"); return NULL;
  }
  size_t n = p->slots == NULL ? 0 : atomic_load(&p->head) - atomic_load(&p->tail);
  napi_value out;
  napi_create_uint32(env, (uint32_t)n, &out);
  return out;
}

static napi_value presign_close(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; pool_t *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || (p = get_pool(env, argv[0])) == NULL) {
    napi_throw_type_error(env, "bad-argument", "bad-argument: presignClose(pool)"); return NULL;
  }
  if (p->slots != NULL) pool_free(p); /* the struct itself goes with the handle's finalizer */
  return NULL;
}

napi_status presign_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "presignPool", NULL, presign_pool, NULL, NULL, NULL, napi_enumerable, NULL },
    { "presignSign", NULL, presign_sign, NULL, NULL, NULL, napi_enumerable, NULL },
    { "presignAvailable", NULL, presign_available, NULL, NULL, NULL, napi_enumerable, NULL },
    { "presignClose", NULL, presign_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
