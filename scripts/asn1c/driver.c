/*
 * Line-oriented driver around an asn1c 0.9.28 generated UPER codec.
 *
 * This file is our own code (Apache-2.0, like the rest of the project). It is
 * compiled together with the C code that asn1c generates from a CSAE module
 * set (see build.sh); the generated code itself is never committed.
 *
 *   driver roundtrip     each stdin line: UPER hex of a MessageFrame. Decodes it
 *                        with uper_decode_complete(), checks constraints,
 *                        re-encodes with uper_encode_to_buffer() and prints the
 *                        re-encoded hex, or "ERROR <reason>".
 *   driver reencode      the same without the constraint check (asn1c's checker
 *                        has defects of its own, see asn1c-second-opinion.test.ts).
 *   driver xer           each stdin line: UPER hex. Prints the decoded value as
 *                        canonical XER on one line, or "ERROR <reason>".
 *   driver bench ITER    each stdin line: UPER hex. Times ITER decodes (each
 *                        result freed) and ITER encodes of the decoded value with
 *                        CLOCK_MONOTONIC and prints one JSON object per line.
 *   driver info          prints the PDU name and a JSON line with what was built.
 *
 * Output: exactly one line per input line, in order. Empty input lines give
 * "ERROR empty line". Everything is flushed at exit (and after every line when
 * the environment variable ASN1C_DRIVER_FLUSH is set). With
 * ASN1C_DRIVER_NO_CHECK_RESTORE set, the work-around for asn1c's disabled
 * constraint checkers (see snapshot_checks) is switched off.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <errno.h>

#include <asn_application.h>
#include <per_decoder.h>
#include <per_encoder.h>
#include <xer_encoder.h>
#include <constraints.h>

#ifndef PDU
#define PDU MessageFrame
#endif
#define ASN_DEF_PDU_(t) asn_DEF_##t
#define ASN_DEF_PDU(t) ASN_DEF_PDU_(t)
#define STR_(x) #x
#define STR(x) STR_(x)

extern asn_TYPE_descriptor_t ASN_DEF_PDU(PDU);
static asn_TYPE_descriptor_t *const pdu_def = &ASN_DEF_PDU(PDU);

static int flush_each_line = 0;
/* ASN1C_DRIVER_NO_CHECK_RESTORE set: leave asn1c's checkers as it leaves them
 * (only to demonstrate the defect described at snapshot_checks()). */
static int no_check_restore = 0;

/*
 * Work-around for an asn1c 0.9.28 defect: for a type defined from another one
 * (Longitude ::= INTEGER (-1799999999..1800000001)), the generated
 * <Type>_1_inherit_TYPE_descriptor() runs at every decode/encode of that type
 * and sets td->check_constraints to the base type's checker
 * (asn_generic_no_constraint for NativeInteger). From the first decode on,
 * asn_check_constraints() then silently skips the constraints of all such
 * types. We snapshot every reachable descriptor's checker at start-up and
 * restore them before each check.
 */
#define MAX_TYPES 4096
static struct saved_check {
	asn_TYPE_descriptor_t *td;
	asn_constr_check_f *check;
} saved_checks[MAX_TYPES];
static size_t saved_count = 0;

static void snapshot_checks(asn_TYPE_descriptor_t *td) {
	size_t i;
	int e;
	if (!td) return;
	for (i = 0; i < saved_count; i++)
		if (saved_checks[i].td == td) return;
	if (saved_count >= MAX_TYPES) {
		fprintf(stderr, "driver: more than %d types\n", MAX_TYPES);
		exit(2);
	}
	saved_checks[saved_count].td = td;
	saved_checks[saved_count].check = td->check_constraints;
	saved_count++;
	for (e = 0; e < td->elements_count; e++)
		snapshot_checks(td->elements[e].type);
}

static void restore_checks(void) {
	size_t i;
	for (i = 0; i < saved_count; i++)
		saved_checks[i].td->check_constraints = saved_checks[i].check;
}

/* ---------------------------------------------------------------- helpers */

static int hexval(int c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Strips trailing CR/LF/spaces in place, returns the new length. */
static size_t rstrip(char *line, size_t len) {
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
	                   line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	return len;
}

/* Parses hex text into out (capacity >= len/2). Returns byte count or -1. */
static ssize_t parse_hex(const char *text, size_t len, uint8_t *out) {
	size_t i, n = 0;
	size_t start = 0;
	while (start < len && (text[start] == ' ' || text[start] == '\t')) start++;
	if ((len - start) % 2 != 0) return -1;
	for (i = start; i < len; i += 2) {
		int hi = hexval((unsigned char)text[i]);
		int lo = hexval((unsigned char)text[i + 1]);
		if (hi < 0 || lo < 0) return -1;
		out[n++] = (uint8_t)((hi << 4) | lo);
	}
	return (ssize_t)n;
}

static void print_hex(const uint8_t *buf, size_t len) {
	static const char digits[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < len; i++) {
		putchar(digits[buf[i] >> 4]);
		putchar(digits[buf[i] & 15]);
	}
}

static const char *rc_name(enum asn_dec_rval_code_e code) {
	switch (code) {
	case RC_OK: return "RC_OK";
	case RC_WMORE: return "RC_WMORE (input too short)";
	case RC_FAIL: return "RC_FAIL";
	}
	return "RC_?";
}

static void end_line(void) {
	putchar('\n');
	if (flush_each_line) fflush(stdout);
}

static double now_sec(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Output buffer for the encoder, grown on demand. */
static uint8_t *enc_buf = NULL;
static size_t enc_cap = 0;

static void ensure_enc_cap(size_t need) {
	if (need <= enc_cap) return;
	enc_cap = need;
	enc_buf = realloc(enc_buf, enc_cap);
	if (!enc_buf) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
}

/*
 * Decodes one complete encoding. On success returns the structure and sets
 * *consumed to the number of bytes used; on failure returns NULL and writes
 * a reason into err.
 */
static void *decode_one(const uint8_t *buf, size_t len, size_t *consumed,
                        char *err, size_t errsz) {
	void *sptr = NULL;
	asn_dec_rval_t rv = uper_decode_complete(NULL, pdu_def, &sptr, buf, len);
	if (rv.code != RC_OK) {
		snprintf(err, errsz, "decode failed: %s after %zu of %zu bytes",
		         rc_name(rv.code), (size_t)rv.consumed, len);
		ASN_STRUCT_FREE(*pdu_def, sptr);
		return NULL;
	}
	*consumed = rv.consumed;
	return sptr;
}

/*
 * Encodes into enc_buf. Returns the byte count of the complete encoding
 * (X.691 10.1.3: at least one octet), or -1 with a reason in err.
 */
static ssize_t encode_one(void *sptr, char *err, size_t errsz) {
	for (;;) {
		asn_enc_rval_t er = uper_encode_to_buffer(pdu_def, sptr, enc_buf, enc_cap);
		if (er.encoded >= 0) {
			size_t bytes = ((size_t)er.encoded + 7) / 8;
			if (bytes == 0) {
				enc_buf[0] = 0;
				bytes = 1;
			}
			return (ssize_t)bytes;
		}
		/* The buffer (>= 1 MiB and >= 4x the input) cannot overflow when
		 * re-encoding a decoded input. Should it, asn1c reports a failure
		 * at the type being written, or at the top type when the final
		 * flush fails; in the latter case retry with a larger buffer. */
		if (enc_cap < (64u << 20) && er.failed_type == pdu_def) {
			ensure_enc_cap(enc_cap * 8);
			continue;
		}
		snprintf(err, errsz, "encode failed at type %s",
		         er.failed_type && er.failed_type->name ? er.failed_type->name : "?");
		return -1;
	}
}

/* ------------------------------------------------------------------ modes */

static void do_roundtrip(const uint8_t *buf, size_t len, int check) {
	char err[512];
	size_t consumed = 0;
	ssize_t n;
	void *sptr = decode_one(buf, len, &consumed, err, sizeof err);
	if (!sptr) {
		printf("ERROR %s", err);
		end_line();
		return;
	}
	if (check) {
		size_t errlen = sizeof err;
		if (!no_check_restore) restore_checks();
		if (asn_check_constraints(pdu_def, sptr, err, &errlen) != 0) {
			size_t i;
			for (i = 0; err[i]; i++)
				if (err[i] == '\n' || err[i] == '\r') err[i] = ' ';
			printf("ERROR constraint check failed after decode: %s", err);
			ASN_STRUCT_FREE(*pdu_def, sptr);
			end_line();
			return;
		}
	}
	n = encode_one(sptr, err, sizeof err);
	if (n < 0) {
		printf("ERROR %s", err);
	} else if (consumed != len) {
		printf("ERROR %zu bytes left over: the message ends after %zu of %zu bytes; re-encoded ",
		       len - consumed, consumed, len);
		print_hex(enc_buf, (size_t)n);
	} else {
		print_hex(enc_buf, (size_t)n);
	}
	ASN_STRUCT_FREE(*pdu_def, sptr);
	end_line();
}

/* XER output is collected first so that a failure yields a clean ERROR line. */
static char *xer_buf = NULL;
static size_t xer_len = 0, xer_cap = 0;

static int xer_write(const void *buffer, size_t size, void *key) {
	(void)key;
	if (xer_len + size + 1 > xer_cap) {
		size_t ncap = (xer_len + size + 1) * 2;
		char *nb = realloc(xer_buf, ncap);
		if (!nb) return -1;
		xer_buf = nb;
		xer_cap = ncap;
	}
	memcpy(xer_buf + xer_len, buffer, size);
	xer_len += size;
	return 0;
}

static void do_xer(const uint8_t *buf, size_t len) {
	char err[512];
	size_t consumed = 0;
	void *sptr = decode_one(buf, len, &consumed, err, sizeof err);
	asn_enc_rval_t er;
	if (!sptr) {
		printf("ERROR %s", err);
		end_line();
		return;
	}
	xer_len = 0;
	er = xer_encode(pdu_def, sptr, XER_F_CANONICAL, xer_write, NULL);
	if (er.encoded < 0) {
		printf("ERROR xer encode failed at type %s",
		       er.failed_type && er.failed_type->name ? er.failed_type->name : "?");
	} else {
		size_t i;
		for (i = 0; i < xer_len; i++) {
			/* one value per line: escape any line break inside text */
			if (xer_buf[i] == '\n') fputs("&#10;", stdout);
			else if (xer_buf[i] == '\r') fputs("&#13;", stdout);
			else putchar(xer_buf[i]);
		}
		if (consumed != len)
			printf("<!-- %zu bytes left over after %zu of %zu -->", len - consumed, consumed, len);
	}
	ASN_STRUCT_FREE(*pdu_def, sptr);
	end_line();
}

static void do_bench(const uint8_t *buf, size_t len, long iter) {
	char err[512];
	size_t consumed = 0;
	long i;
	double t0, t1, t2;
	ssize_t n = 0;
	void *sptr = decode_one(buf, len, &consumed, err, sizeof err);
	if (!sptr) {
		printf("{\"error\":\"%s\"}", err);
		end_line();
		return;
	}
	if (encode_one(sptr, err, sizeof err) < 0) {
		printf("{\"error\":\"%s\"}", err);
		ASN_STRUCT_FREE(*pdu_def, sptr);
		end_line();
		return;
	}

	t0 = now_sec();
	for (i = 0; i < iter; i++) {
		void *p = NULL;
		asn_dec_rval_t rv = uper_decode_complete(NULL, pdu_def, &p, buf, len);
		if (rv.code != RC_OK) {
			fprintf(stderr, "bench: decode failed in iteration %ld\n", i);
			exit(3);
		}
		ASN_STRUCT_FREE(*pdu_def, p);
	}
	t1 = now_sec();
	for (i = 0; i < iter; i++) {
		asn_enc_rval_t er = uper_encode_to_buffer(pdu_def, sptr, enc_buf, enc_cap);
		if (er.encoded < 0) {
			fprintf(stderr, "bench: encode failed in iteration %ld\n", i);
			exit(3);
		}
		n = (ssize_t)((er.encoded + 7) / 8);
	}
	t2 = now_sec();
	ASN_STRUCT_FREE(*pdu_def, sptr);

	printf("{\"bytes\":%zu,\"encodedBytes\":%zd,\"iter\":%ld,\"decodeSec\":%.9f,\"encodeSec\":%.9f,"
	       "\"decodePerSec\":%.1f,\"encodePerSec\":%.1f}",
	       len, n, iter, t1 - t0, t2 - t1,
	       (t1 - t0) > 0 ? (double)iter / (t1 - t0) : 0.0,
	       (t2 - t1) > 0 ? (double)iter / (t2 - t1) : 0.0);
	end_line();
}

/* ------------------------------------------------------------------- main */

static void usage(void) {
	fprintf(stderr, "usage: driver roundtrip | reencode | xer | bench ITER | info  (hex lines on stdin)\n");
	exit(64);
}

int main(int argc, char **argv) {
	enum { M_ROUNDTRIP, M_REENCODE, M_XER, M_BENCH } mode;
	long iter = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	uint8_t *bin = NULL;
	size_t bin_cap = 0;

	if (argc < 2) usage();
	if (getenv("ASN1C_DRIVER_FLUSH")) flush_each_line = 1;
	if (getenv("ASN1C_DRIVER_NO_CHECK_RESTORE")) no_check_restore = 1;
	if (strcmp(argv[1], "roundtrip") == 0) mode = M_ROUNDTRIP;
	else if (strcmp(argv[1], "reencode") == 0) mode = M_REENCODE;
	else if (strcmp(argv[1], "xer") == 0) mode = M_XER;
	else if (strcmp(argv[1], "bench") == 0) {
		char *end = NULL;
		if (argc < 3) usage();
		errno = 0;
		iter = strtol(argv[2], &end, 10);
		if (errno || !end || *end || iter <= 0) usage();
		mode = M_BENCH;
	} else if (strcmp(argv[1], "info") == 0) {
		printf("{\"pdu\":\"%s\",\"asn1c\":\"0.9.28\"}\n", STR(PDU));
		return 0;
	} else usage();

	snapshot_checks(pdu_def);
	ensure_enc_cap(1u << 20);

	while ((got = getline(&line, &cap, stdin)) >= 0) {
		size_t len = rstrip(line, (size_t)got);
		ssize_t nbytes;
		if (len == 0) {
			printf(mode == M_BENCH ? "{\"error\":\"empty line\"}" : "ERROR empty line");
			end_line();
			continue;
		}
		if (len / 2 + 1 > bin_cap) {
			bin_cap = len / 2 + 1;
			bin = realloc(bin, bin_cap);
			if (!bin) {
				fprintf(stderr, "out of memory\n");
				return 2;
			}
		}
		nbytes = parse_hex(line, len, bin);
		if (nbytes < 0) {
			printf(mode == M_BENCH ? "{\"error\":\"invalid hex\"}" : "ERROR invalid hex");
			end_line();
			continue;
		}
		ensure_enc_cap((size_t)nbytes * 4 + 1024);
		switch (mode) {
		case M_ROUNDTRIP: do_roundtrip(bin, (size_t)nbytes, 1); break;
		case M_REENCODE: do_roundtrip(bin, (size_t)nbytes, 0); break;
		case M_XER: do_xer(bin, (size_t)nbytes); break;
		case M_BENCH: do_bench(bin, (size_t)nbytes, iter); break;
		}
	}
	free(line);
	free(bin);
	free(enc_buf);
	return fflush(stdout) == 0 ? 0 : 1;
}
