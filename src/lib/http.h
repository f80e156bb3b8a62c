/* http: an HTTP/1.1 server over libmicrohttpd's thread pool. It reads the
 * request body into memory up to a limit (larger bodies get the handler
 * called with body_too_large set, at once when Content-Length tells),
 * gives every request an id (X-Request-Id, taken from the client when it is
 * well formed), and when the request ends writes one structured log line
 * and updates request metrics. It knows nothing of routes or JSON: a single
 * handler function answers every request.
 *
 * Long polls: a handler may instead park its request on a key of a
 * notify board (http_req_wait); the connection is then suspended, holding
 * no worker thread, and the handler is called again from the start when
 * the key changes, the time given runs out, the client hangs up or the
 * server drains. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "metrics.h"
#include "notify.h"

struct http_header {
	struct http_header *next; /* next header; list lives in the arena */
	const char *name;
	const char *value;
};

struct http_req;

/* Takes one piece of a streamed request body; returns 0, or a negative
 * errno to stop taking the body (the handler then sees body_error). */
typedef int (*http_sink_fn)(struct http_req *req, const char *data, size_t n);

struct http_req {
	/* request: borrowed, valid until the handler returns */
	const char *method;        /* "GET", "POST"... as the client sent it */
	const char *path;          /* raw (still percent-encoded) path, no query */
	struct buf body;           /* the body, at most the server's body limit */
	bool body_too_large;       /* the body passed the limit; body is empty */
	struct arena *arena;       /* per-request memory, freed when it ends */
	char request_id[72];       /* this request's id, also sent back */
	char peer[64];             /* client address as text */
	/* set by the handler, for the request log line and metrics */
	const char *route;         /* matched route pattern (arena or static) */
	const char *tenant;        /* who made the request, or NULL */
	/* response, set through http_resp_*() */
	unsigned status;           /* HTTP status; 0 until a response is set */
	char *resp_body;           /* owned, freed when the request ends */
	size_t resp_len;           /* bytes in resp_body */
	const char *resp_type;     /* Content-Type (static or arena) */
	struct http_header *resp_headers; /* extra response headers */
	/* streaming: set by the prepare hook to take the body piece by piece
	 * instead of buffering it (body then stays empty) */
	http_sink_fn sink;         /* where body pieces go, or NULL */
	uint64_t sink_limit;       /* largest streamed body accepted, bytes */
	uint64_t body_received;    /* bytes of body taken so far */
	int body_error;            /* first error the sink returned, or 0 */
	void *user;                /* the application's per-request state */
	void (*cleanup)(struct http_req *req); /* called when the request ends */
	/* a response streamed from a file instead of resp_body */
	int resp_fd;               /* owned; -1 when none */
	uint64_t resp_fd_size;     /* bytes to send from resp_fd */
	uint64_t resp_fd_offset;   /* where in resp_fd they start */
	/* private to http.c */
	struct http_server *server;
	void *conn;
	double started;
	size_t discarded;          /* bytes of an over-limit body thrown away */
	bool dispatched;           /* a response is queued */
	struct http_wait {         /* a long poll (http_req_wait) */
		struct notify_board *board; /* where key lives */
		const char *key;     /* the key waited on (arena) */
		uint64_t seen;       /* the version the handler answered from */
		double deadline;     /* time_mono() when the wait ends; 0: never waited */
		bool pending;        /* the handler asked to wait (dispatch suspends) */
		bool listed;         /* on the server's waiting list (its wait_lock) */
		_Atomic bool peer_gone; /* the client hung up while it waited */
		_Atomic int state;   /* WAIT_* in http.c: who resumes the connection */
		uint64_t serial;     /* identifies it to the hang-up watcher */
		int fd;              /* its socket, watched for hang-ups; -1: none */
		struct http_req *prev, *next; /* neighbours on the waiting list */
		struct notify_watch watch; /* its registration on the board */
	} wait;
};

/* Answers one request by setting a response on req. */
typedef void (*http_handler_fn)(struct http_req *req, void *userdata);
/* Looks at a request once its headers are in, before any body is read. It
 * may answer at once (set a response), or set req->sink to stream the
 * body. */
typedef void (*http_prepare_fn)(struct http_req *req, void *userdata);

struct http_server_opts {
	const char *listen;        /* "HOST:PORT"; "[::1]:PORT" for IPv6; port 0 picks one */
	const char *bind_dev;      /* listen on this network device only
				    * (SO_BINDTODEVICE; answers leave through it), or NULL */
	unsigned threads;          /* worker threads in the pool */
	size_t body_limit;         /* largest request body accepted, bytes */
	unsigned timeout_s;        /* idle connection timeout, seconds */
	http_handler_fn handler;   /* answers every request */
	http_prepare_fn prepare;   /* optional, see http_prepare_fn */
	unsigned max_conns;        /* open connections at most (waiting ones count); 0: MHD's default */
	void *userdata;            /* handed to handler */
	struct metrics *metrics;   /* request metrics go here; may be NULL */
	/* HTTPS: paths of the PEM certificate (chain) and its private key, read
	 * once at start; both or neither. NULL: plain HTTP. */
	const char *tls_cert;
	const char *tls_key;
};

struct http_server;

/* Start listening and serving (over TLS when opts names a certificate).
 * Returns 0 and a server the caller frees with http_server_free(), or a
 * negative errno: bad address, port in use...; with TLS also -ENOTSUP
 * (libmicrohttpd built without TLS), the errno of reading either file, or
 * -EINVAL (only one of the two given, not PEM, or a key that does not
 * match the certificate). */
int http_server_start(const struct http_server_opts *opts, struct http_server **ret);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);
/* Stop accepting connections, answer the requests that wait (their
 * handlers run again at once), then wait up to timeout_ms for requests in
 * flight to finish. Returns the number still in flight at the end. */
unsigned http_server_drain(struct http_server *s, unsigned timeout_ms);
/* Stop the server (closing what is left) and free it. Accepts NULL. */
void http_server_free(struct http_server *s);

/* Park req until key of board has a version other than seen, timeout_ms
 * passes (counted from the first wait of this request), the client hangs up
 * or the server drains; the handler is then called again from the start
 * and should answer. Returns 0 when the request waits: the handler must
 * return without a response. Returns 1 when it must answer now (the
 * version differs already, the time is up, the client is gone, or the
 * server drains). The waiting request holds no worker thread. */
int http_req_wait(struct http_req *req, struct notify_board *board, const char *key,
		  uint64_t seen, unsigned timeout_ms);
/* Value of request header name (case-insensitive), or NULL. Borrowed. */
const char *http_req_header(struct http_req *req, const char *name);
/* Decoded value of query parameter name, or NULL when absent; *ret_bad is
 * set when it is present but badly encoded. Arena memory. */
const char *http_req_query(struct http_req *req, const char *name, bool *ret_bad);
/* A query parameter as the client sent it (still percent-encoded). */
struct http_kv {
	const char *key;
	const char *value; /* NULL when the parameter had no '=' */
};

/* All query parameters, raw and in order; the array lives in the arena.
 * Returns how many. */
size_t http_req_query_raw(struct http_req *req, const struct http_kv **ret);
/* All request headers as sent, in order; the array lives in the arena.
 * Returns how many. */
size_t http_req_headers(struct http_req *req, const struct http_kv **ret);
/* Set the response: status, content type and body (copied). */
void http_resp_set(struct http_req *req, unsigned status, const char *type, const void *body,
		   size_t len);
/* Set the response, taking ownership of body (malloc'd). */
void http_resp_take(struct http_req *req, unsigned status, const char *type, char *body,
		    size_t len);
/* Set the response to the size bytes of the open file fd (sent with
 * sendfile where possible); takes ownership of fd. */
void http_resp_file(struct http_req *req, unsigned status, const char *type, int fd,
		    uint64_t size);
/* Set the response to size bytes of the open file fd from offset on (a
 * range of it); takes ownership of fd. */
void http_resp_file_range(struct http_req *req, unsigned status, const char *type, int fd,
			  uint64_t offset, uint64_t size);
/* Add a response header (name and value are copied). */
void http_resp_header(struct http_req *req, const char *name, const char *value);
/* Split "HOST:PORT" into host and port. Returns 0 or -EINVAL. */
int http_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *ret_port);

/* Parse a Range header value h (may be NULL) of one range ("bytes=a-b",
 * "bytes=a-", "bytes=-n") against a body of size bytes. Returns 1 with the
 * range in *ret_off and *ret_len, 0 to send the whole body (no range, or
 * one not understood or of several ranges), or -1 when it cannot be
 * satisfied (416). */
int http_parse_range(const char *h, int64_t size, int64_t *ret_off, int64_t *ret_len);
