/* awschunked: an incremental decoder of S3's aws-chunked request bodies, in
 * the three forms SDKs send (x-amz-content-sha256):
 *
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD          hex-size;chunk-signature=SIG\r\n
 *                                               DATA\r\n ... 0;chunk-signature=SIG\r\n\r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  the same, the zero chunk followed by
 *                                               name:value\r\n ...
 *                                               x-amz-trailer-signature:SIG\r\n\r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER          hex-size\r\nDATA\r\n ... 0\r\n
 *                                               name:value\r\n ... \r\n
 *
 * It takes the body in pieces of any size as they arrive, hands the decoded
 * data on as it goes (never holding a chunk: chunks may be megabytes) and
 * checks each chunk's chained signature when its data ends. Data reaches
 * the sink before its chunk's signature is checked, so the caller must
 * treat everything as unverified until awschunked_finish() returns 0 (an
 * object store writes to a temporary file and renames it only then).
 * Trailers are kept, bounded, for the caller to read at the end; checking
 * the decoded length against x-amz-decoded-content-length and a trailing
 * checksum against the data is the caller's job. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

enum awschunked_mode {
	AWSCHUNKED_SIGNED,           /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	AWSCHUNKED_SIGNED_TRAILER,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
	AWSCHUNKED_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

/* Malformed body: S3 answers IncompleteBody / InvalidRequest / MalformedTrailerError. */
#define AWSCHUNKED_EMALFORMED (-EBADMSG)
/* A chunk or trailer signature does not match: SignatureDoesNotMatch. */
#define AWSCHUNKED_ESIGNATURE (-EACCES)

/* Largest chunk size accepted (S3's largest part, 5 GiB). */
#define AWSCHUNKED_MAX_CHUNK (5ULL << 30)
/* Most trailers kept, longest trailer name and value. */
#define AWSCHUNKED_MAX_TRAILERS 8
#define AWSCHUNKED_MAX_TRAILER_NAME 64
#define AWSCHUNKED_MAX_TRAILER_VALUE 256

/* Takes a piece of decoded data; returns 0, or a negative errno that stops
 * the decoder (awschunked_feed returns it). */
typedef int (*awschunked_data_fn)(void *ctx, const void *data, size_t n);

struct awschunked_opts {
	enum awschunked_mode mode;
	/* signed modes: the request's verified SigV4 authorization (its
	 * signature is the seed, its scope and amz_date sign every chunk) and
	 * the signing key derived for that scope (sigv4_signing_key); both
	 * copied. Unused in the unsigned mode. */
	const struct sigv4_auth *auth;
	const unsigned char *key;
	awschunked_data_fn data; /* where decoded data goes */
	void *ctx;               /* handed to data */
};

struct awschunked_trailer {
	char name[AWSCHUNKED_MAX_TRAILER_NAME + 1];   /* lower case */
	char value[AWSCHUNKED_MAX_TRAILER_VALUE + 1]; /* spaces around it trimmed */
};

struct awschunked;

/* The mode named by an x-amz-content-sha256 value. Returns 0, or -ENOENT when
 * the value names no aws-chunked mode (a hex hash, UNSIGNED-PAYLOAD...). */
int awschunked_parse_mode(const char *content_sha256, enum awschunked_mode *ret);
/* A decoder for one body. Caller frees with awschunked_free(). */
struct awschunked *awschunked_new(const struct awschunked_opts *opts);
/* Free d (wiping its key). Accepts NULL. */
void awschunked_free(struct awschunked *d);
/* Decode n more bytes of the body. Returns 0, AWSCHUNKED_EMALFORMED,
 * AWSCHUNKED_ESIGNATURE or the sink's error; an error is final (later
 * calls return it again) and awschunked_error() says why. */
int awschunked_feed(struct awschunked *d, const void *data, size_t n);
/* The body has ended: returns 0 when it was complete (final chunk, trailers
 * and their signature all in), else the error as awschunked_feed. */
int awschunked_finish(struct awschunked *d);
/* Why the last call failed, for the error message; "" when none. Static or
 * owned by d. */
const char *awschunked_error(const struct awschunked *d);
/* Bytes of decoded data handed to the sink so far. */
uint64_t awschunked_decoded_len(const struct awschunked *d);
/* The trailers received, in order (valid until awschunked_free); their
 * count in *ret_n. */
const struct awschunked_trailer *awschunked_trailers(const struct awschunked *d, size_t *ret_n);
/* The value of trailer name (any case), or NULL. Borrowed from d. */
const char *awschunked_trailer(const struct awschunked *d, const char *name);
