/* http: see http.h.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per piece of body, and once more when the
 * body is complete. A response may only be queued on the first call (before
 * any body is read) or on the last. So a Content-Length over the limit is
 * answered at once (MHD then closes the connection instead of reading the
 * body), while a chunked body that grows past the limit is discarded as it
 * arrives and answered at the end, never held in memory.
 *
 * The path is kept percent-encoded (a no-op unescape callback): the router
 * splits on '/' first and decodes each segment after, so "%2F" stays inside
 * a segment. Query parameters are decoded here on lookup.
 *
 * Draining: quiesce stops the listening socket; requests in flight are
 * counted (from first call to the completion callback) and waited for. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "router.h"
#include "timeutil.h"
#include "util.h"

/* A client sending a chunked body far beyond the limit is cut off. */
#define DISCARD_FACTOR 4

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_server_opts opts; /* copy; listen string not kept */
	atomic_uint in_flight;        /* requests between first call and completion */
	atomic_bool draining;         /* answers carry "Connection: close" */
	uint16_t port;                /* bound port */
};

int http_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *ret_port)
{
	const char *colon;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		if ((size_t)(close - s - 1) >= host_size)
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= host_size)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	uint64_t port;
	if (!*host || parse_u64(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	*ret_port = (uint16_t)port;
	return 0;
}

static int resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	uint16_t port;
	if (http_parse_hostport(listen, host, sizeof(host), &port) < 0)
		return -EINVAL;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return -EADDRNOTAVAIL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return -EAFNOSUPPORT;
	return 0;
}

static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static void peer_text(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	str_copy(out, size, "-");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *c,
				const char *url, const char *method)
{
	struct http_req *req = xcalloc(1, sizeof(*req));
	req->server = s;
	req->conn = c;
	req->arena = arena_new();
	req->method = arena_strdup(req->arena, method);
	req->path = arena_strdup(req->arena, url);
	req->started = time_mono();
	req->resp_fd = -1;
	buf_init(&req->body, s->opts.body_limit);
	const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && request_id_ok(rid)) {
		str_copy(req->request_id, sizeof(req->request_id), rid);
	} else {
		unsigned char raw[12];
		crypto_random(raw, sizeof(raw));
		char *b = base64url_encode(raw, sizeof(raw));
		str_printf(req->request_id, sizeof(req->request_id), "req-%s", b);
		free(b);
	}
	peer_text(c, req->peer, sizeof(req->peer));
	atomic_fetch_add(&s->in_flight, 1);
	return req;
}

static void req_free(struct http_req *req)
{
	if (req->cleanup)
		req->cleanup(req);
	if (req->resp_fd >= 0)
		close(req->resp_fd);
	buf_release(&req->body);
	free(req->resp_body);
	arena_free(req->arena);
	free(req);
}

const char *http_req_header(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(struct http_req *req, const char *name, bool *ret_bad)
{
	*ret_bad = false;
	const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
	if (!raw)
		return NULL;
	size_t n = strlen(raw);
	char *plus = arena_strndup(req->arena, raw, n);
	for (char *p = plus; *p; p++)
		if (*p == '+')
			*p = ' ';
	char *v = router_unescape(req->arena, plus, n);
	if (!v)
		*ret_bad = true;
	return v;
}

struct kv_collect {
	struct http_req *req;
	struct http_kv *items; /* arena array */
	size_t n, cap;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct kv_collect *kc = cls;
	(void)kind;
	if (kc->n == kc->cap) {
		size_t cap = kc->cap ? kc->cap * 2 : 8;
		struct http_kv *items = arena_alloc(kc->req->arena, cap * sizeof(*items));
		if (kc->n)
			memcpy(items, kc->items, kc->n * sizeof(*items));
		kc->items = items;
		kc->cap = cap;
	}
	kc->items[kc->n].key = key;
	kc->items[kc->n].value = value;
	kc->n++;
	return MHD_YES;
}

size_t http_req_query_raw(struct http_req *req, const struct http_kv **ret)
{
	struct kv_collect kc = { .req = req };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_kv, &kc);
	*ret = kc.items;
	return kc.n;
}

void http_resp_take(struct http_req *req, unsigned status, const char *type, char *body,
		    size_t len)
{
	free(req->resp_body);
	req->status = status;
	req->resp_type = type;
	req->resp_body = body;
	req->resp_len = len;
}

void http_resp_set(struct http_req *req, unsigned status, const char *type, const void *body,
		   size_t len)
{
	char *copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, body, len);
	copy[len] = '\0';
	http_resp_take(req, status, type, copy, len);
}

void http_resp_file(struct http_req *req, unsigned status, const char *type, int fd,
		    uint64_t size)
{
	http_resp_set(req, status, type, "", 0);
	if (req->resp_fd >= 0)
		close(req->resp_fd);
	req->resp_fd = fd;
	req->resp_fd_size = size;
}

void http_resp_header(struct http_req *req, const char *name, const char *value)
{
	struct http_header *h = arena_alloc(req->arena, sizeof(*h));
	h->name = arena_strdup(req->arena, name);
	h->value = arena_strdup(req->arena, value);
	h->next = req->resp_headers;
	req->resp_headers = h;
}

static enum MHD_Result dispatch(struct http_req *req)
{
	struct http_server *s = req->server;
	req->dispatched = true;
	s->opts.handler(req, s->opts.userdata);
	if (req->status == 0) {
		static const char msg[] = "no response";
		http_resp_set(req, 500, "text/plain", msg, sizeof(msg) - 1);
	}
	struct MHD_Response *resp;
	if (req->resp_fd >= 0) {
		/* MHD owns the descriptor from here on and closes it */
		resp = MHD_create_response_from_fd64(req->resp_fd_size, req->resp_fd);
		req->resp_fd = -1;
	} else {
		resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body,
						       MHD_RESPMEM_MUST_COPY);
	}
	if (!resp)
		return MHD_NO;
	if (req->resp_type)
		MHD_add_response_header(resp, "Content-Type", req->resp_type);
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	for (struct http_header *h = req->resp_headers; h; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
	if (atomic_load(&s->draining) || req->body_too_large)
		MHD_add_response_header(resp, "Connection", "close");
	enum MHD_Result r = MHD_queue_response(req->conn, req->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size, void **ctx)
{
	struct http_server *s = cls;
	struct http_req *req = *ctx;
	(void)version;
	if (!req) {
		req = req_new(s, c, url, method);
		*ctx = req;
		if (s->opts.prepare) {
			s->opts.prepare(req, s->opts.userdata);
			if (req->status)
				return dispatch(req);
		}
		uint64_t limit = req->sink ? req->sink_limit : s->opts.body_limit;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		uint64_t len;
		if (cl && parse_u64(cl, 0, UINT64_MAX, &len) == 0 && len > limit) {
			req->body_too_large = true;
			return dispatch(req);
		}
		return MHD_YES;
	}
	if (*upload_data_size && req->sink) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		req->body_received += n;
		if (req->body_received > req->sink_limit)
			req->body_too_large = true;
		if (req->body_too_large || req->body_error)
			return req->body_received > req->sink_limit + s->opts.body_limit * DISCARD_FACTOR
				       ? MHD_NO
				       : MHD_YES;
		int r = req->sink(req, upload_data, n);
		if (r < 0)
			req->body_error = r;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!req->body_too_large &&
		    buf_append(&req->body, upload_data, *upload_data_size) < 0) {
			req->body_too_large = true;
			buf_release(&req->body);
		}
		if (req->body_too_large) {
			req->discarded += *upload_data_size;
			if (req->discarded > s->opts.body_limit * DISCARD_FACTOR)
				return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->dispatched)
		return MHD_YES;
	return dispatch(req);
}

static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
					     "OPTIONS" };
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "OTHER";
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *req = *ctx;
	(void)c;
	if (!req)
		return;
	*ctx = NULL;
	double secs = time_mono() - req->started;
	const char *route = req->route ? req->route : "unmatched";
	const char *method = method_label(req->method);
	unsigned status = req->dispatched ? req->status : 0;
	char st[16], dur[32], bytes[32];
	str_printf(st, sizeof(st), "%u", status);
	str_printf(dur, sizeof(dur), "%.3f", secs * 1000.0);
	str_printf(bytes, sizeof(bytes), "%llu",
		   (unsigned long long)(req->resp_len + req->resp_fd_size));
	log_line(LOGL_INFO, "request", "request_id", req->request_id, "method", method, "route",
		 route, "path", req->path, "status", st, "duration_ms", dur, "bytes", bytes,
		 "peer", req->peer, "tenant", req->tenant ? req->tenant : "-", "aborted",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "false" : "true", NULL);
	if (s->opts.metrics) {
		char labels[256];
		str_printf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",status=\"%u\"",
			   method, route, status);
		metrics_counter_add(s->opts.metrics, "nubo_http_requests_total", labels, 1);
		str_printf(labels, sizeof(labels), "route=\"%s\"", route);
		metrics_observe(s->opts.metrics, "nubo_http_request_duration_seconds", labels, secs);
		metrics_counter_add(s->opts.metrics, "nubo_http_response_bytes_total", "",
				    (double)(req->resp_len + req->resp_fd_size));
	}
	req_free(req);
	atomic_fetch_sub(&s->in_flight, 1);
}

static void describe_metrics(struct metrics *m)
{
	metrics_describe(m, "nubo_http_requests_total", METRIC_COUNTER,
			 "HTTP requests answered, by method, route pattern and status.");
	metrics_describe(m, "nubo_http_request_duration_seconds", METRIC_HISTOGRAM,
			 "Time from request headers to completion, by route pattern.");
	metrics_describe(m, "nubo_http_response_bytes_total", METRIC_COUNTER,
			 "Response body bytes sent.");
}

int http_server_start(const struct http_server_opts *opts, struct http_server **ret)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int r = resolve(opts->listen, &ss, &sslen);
	if (r < 0)
		return r;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->opts = *opts;
	s->opts.listen = NULL;
	if (s->opts.metrics)
		describe_metrics(s->opts.metrics);
	/* poll(), not epoll: with a thread pool, MHD 0.9.75's quiesce races the
	 * workers over the listen socket in their epoll sets and aborts ("Failed
	 * to remove listen FD from epoll set"), seen on SIGTERM right after a
	 * request */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(opts->threads ? opts->threads : 1),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)opts->timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
		MHD_OPTION_END);
	if (!s->mhd) {
		int e = errno ? errno : EADDRINUSE;
		free(s);
		return -e;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	*ret = s;
	return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

unsigned http_server_drain(struct http_server *s, unsigned timeout_ms)
{
	atomic_store(&s->draining, true);
	MHD_socket fd = MHD_quiesce_daemon(s->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	double deadline = time_mono() + timeout_ms / 1000.0;
	while (atomic_load(&s->in_flight) > 0 && time_mono() < deadline)
		usleep(10 * 1000);
	return atomic_load(&s->in_flight);
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
