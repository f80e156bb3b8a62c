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
 * counted (from first call to the completion callback) and waited for.
 *
 * Long polls (http_req_wait): after a handler asks to wait, dispatch
 * suspends the connection (MHD then neither reads it nor times it out) and
 * arms the wait: the request joins the server's waiting list, its socket
 * joins an epoll set that reports hang-ups, and it watches its key on the
 * notify board. Three parties may end the wait: the board's callback (the
 * key changed), the watcher thread (deadline passed, client hung up) and
 * drain (shutdown). Each tries to move wait.state from ARMED to FIRED; the
 * one that wins queues the connection for MHD_resume_connection, which the
 * watcher thread (or drain) calls with none of our locks held. MHD then
 * calls the access handler again, and dispatch runs the handler from the
 * start after taking the request off the list and the board.
 *
 * Lock order: wait_lock, then the board's lock, then resume_lock. The
 * board calls back under its own lock, so the callback only flips the
 * state and queues; it never takes wait_lock. A suspended connection
 * cannot complete, so the request stays valid until it is resumed; once
 * dispatch has disarmed it nobody else refers to it. MHD must not be
 * stopped with connections suspended: drain and free end every wait first
 * and refuse new ones. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "router.h"
#include "timeutil.h"
#include "util.h"

/* A client sending a chunked body far beyond the limit is cut off. */
#define DISCARD_FACTOR 4

/* Who may resume a waiting request's connection (http_wait.state). */
enum { WAIT_IDLE, WAIT_ARMED, WAIT_FIRED };

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_server_opts opts; /* copy; listen and TLS paths not kept */
	char *tls_cert;               /* PEM certificate chain (owned), or NULL */
	char *tls_key;                /* PEM private key (owned, wiped on free), or NULL */
	atomic_uint in_flight;        /* requests between first call and completion */
	atomic_bool draining;         /* answers carry "Connection: close"; no new waits */
	uint16_t port;                /* bound port */
	/* long polls; wait_lock protects the fields up to resume_lock and
	 * every request's wait.listed and list links */
	pthread_mutex_t wait_lock;
	struct http_req *waiting;     /* armed or fired requests not yet disarmed */
	size_t nwaiting;              /* requests on that list */
	double wait_next;             /* when the watcher wakes for a deadline; 0: never */
	uint64_t wait_serial;         /* last serial given to a waiting request */
	bool watcher_stop;            /* the watcher thread must end */
	pthread_t watcher;            /* deadlines and hang-ups of waiting requests */
	int epfd;                     /* the watcher's epoll: wake_fd and waiting sockets */
	int wake_fd;                  /* eventfd that wakes the watcher */
	pthread_mutex_t resume_lock;  /* protects the queue below; nothing is taken under it */
	struct MHD_Connection **resume_q; /* connections to resume, owned array */
	size_t resume_n, resume_cap;  /* entries used and allocated */
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
	req->wait.fd = -1;
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

static void wait_disarm(struct http_req *req);

static void req_free(struct http_req *req)
{
	wait_disarm(req);
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

size_t http_req_headers(struct http_req *req, const struct http_kv **ret)
{
	struct kv_collect kc = { .req = req };
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, collect_kv, &kc);
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

void http_resp_file_range(struct http_req *req, unsigned status, const char *type, int fd,
			  uint64_t offset, uint64_t size)
{
	http_resp_set(req, status, type, "", 0);
	if (req->resp_fd >= 0)
		close(req->resp_fd);
	req->resp_fd = fd;
	req->resp_fd_offset = offset;
	req->resp_fd_size = size;
}

void http_resp_file(struct http_req *req, unsigned status, const char *type, int fd,
		    uint64_t size)
{
	http_resp_file_range(req, status, type, fd, 0, size);
}

void http_resp_header(struct http_req *req, const char *name, const char *value)
{
	struct http_header *h = arena_alloc(req->arena, sizeof(*h));
	h->name = arena_strdup(req->arena, name);
	h->value = arena_strdup(req->arena, value);
	h->next = req->resp_headers;
	req->resp_headers = h;
}

/* ---- long polls ---- */

static void watcher_poke(struct http_server *s)
{
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway */
	}
}

/* Queue conn for MHD_resume_connection (resume_queued() calls it). */
static void queue_resume(struct http_server *s, struct MHD_Connection *conn)
{
	pthread_mutex_lock(&s->resume_lock);
	if (s->resume_n == s->resume_cap) {
		s->resume_cap = s->resume_cap ? s->resume_cap * 2 : 16;
		s->resume_q = xrealloc(s->resume_q, s->resume_cap * sizeof(*s->resume_q));
	}
	s->resume_q[s->resume_n++] = conn;
	pthread_mutex_unlock(&s->resume_lock);
}

/* Resume the queued connections, with none of our locks held. */
static void resume_queued(struct http_server *s)
{
	pthread_mutex_lock(&s->resume_lock);
	struct MHD_Connection **q = s->resume_q;
	size_t n = s->resume_n;
	s->resume_q = NULL;
	s->resume_n = s->resume_cap = 0;
	pthread_mutex_unlock(&s->resume_lock);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(q[i]);
	free(q);
}

static void waiting_gauge(struct http_server *s)
{
	if (s->opts.metrics)
		metrics_gauge_set(s->opts.metrics, "nubo_http_waiting_requests", "",
				  (double)s->nwaiting);
}

/* Take req off the waiting list and the epoll set. Under wait_lock. */
static void unlist_locked(struct http_server *s, struct http_req *req)
{
	struct http_wait *w = &req->wait;
	if (!w->listed)
		return;
	if (w->prev)
		w->prev->wait.next = w->next;
	else
		s->waiting = w->next;
	if (w->next)
		w->next->wait.prev = w->prev;
	w->prev = w->next = NULL;
	w->listed = false;
	if (w->fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	s->nwaiting--;
	waiting_gauge(s);
}

/* End req's wait unless someone else did: queue its resumption. Under
 * wait_lock. */
static void fire_locked(struct http_server *s, struct http_req *req)
{
	int armed = WAIT_ARMED;
	if (atomic_compare_exchange_strong(&req->wait.state, &armed, WAIT_FIRED))
		queue_resume(s, req->conn);
	unlist_locked(s, req);
}

/* The board's callback: the key changed. Runs under the board's lock. */
static void on_key_changed(struct notify_watch *w, void *arg)
{
	struct http_req *req = arg;
	int armed = WAIT_ARMED;
	(void)w;
	if (atomic_compare_exchange_strong(&req->wait.state, &armed, WAIT_FIRED)) {
		queue_resume(req->server, req->conn);
		watcher_poke(req->server);
	}
}

/* Put req on the waiting list and its socket in the epoll set. Under
 * wait_lock. */
static void list_locked(struct http_server *s, struct http_req *req)
{
	struct http_wait *w = &req->wait;
	w->serial = ++s->wait_serial;
	w->prev = NULL;
	w->next = s->waiting;
	if (s->waiting)
		s->waiting->wait.prev = req;
	s->waiting = req;
	w->listed = true;
	s->nwaiting++;
	waiting_gauge(s);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.u64 = w->serial };
	w->fd = ci ? ci->connect_fd : -1;
	if (w->fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		w->fd = -1; /* a hang-up then shows at the deadline */
}

/* Start the wait of a request whose connection was just suspended. */
static void wait_arm(struct http_req *req)
{
	struct http_server *s = req->server;
	struct http_wait *w = &req->wait;
	bool now = false, poke = false;
	pthread_mutex_lock(&s->wait_lock);
	if (atomic_load(&s->draining) || s->watcher_stop) {
		now = true;
	} else {
		atomic_store(&w->state, WAIT_ARMED);
		list_locked(s, req);
		if (notify_watch(w->board, &w->watch, w->key, w->seen, on_key_changed, req) != 0) {
			/* changed between the handler's look and now */
			atomic_store(&w->state, WAIT_FIRED);
			unlist_locked(s, req);
			now = true;
		} else if (s->wait_next == 0 || w->deadline < s->wait_next) {
			s->wait_next = w->deadline;
			poke = true;
		}
	}
	pthread_mutex_unlock(&s->wait_lock);
	if (now)
		MHD_resume_connection(req->conn);
	if (poke)
		watcher_poke(s);
}

/* Undo what wait_arm did, once the connection was resumed (or the request
 * ends). Nobody else refers to req afterwards. */
static void wait_disarm(struct http_req *req)
{
	struct http_server *s = req->server;
	struct http_wait *w = &req->wait;
	if (w->deadline == 0)
		return; /* never waited */
	pthread_mutex_lock(&s->wait_lock);
	unlist_locked(s, req);
	pthread_mutex_unlock(&s->wait_lock);
	if (w->board)
		notify_unwatch(w->board, &w->watch);
	atomic_store(&w->state, WAIT_IDLE);
	w->fd = -1;
}

int http_req_wait(struct http_req *req, struct notify_board *board, const char *key,
		  uint64_t seen, unsigned timeout_ms)
{
	struct http_wait *w = &req->wait;
	double now = time_mono();
	if (w->deadline == 0)
		w->deadline = now + timeout_ms / 1000.0;
	if (atomic_load(&req->server->draining) || atomic_load(&w->peer_gone) ||
	    now >= w->deadline || notify_version(board, key) != seen)
		return 1;
	w->board = board;
	w->key = arena_strdup(req->arena, key);
	w->seen = seen;
	w->pending = true;
	return 0;
}

/* Fire the waits whose deadline passed; returns the next deadline (0:
 * none). Under wait_lock. */
static double expire_locked(struct http_server *s, double now)
{
	double next = 0;
	struct http_req *req = s->waiting, *after;
	for (; req; req = after) {
		after = req->wait.next;
		if (req->wait.deadline <= now)
			fire_locked(s, req);
		else if (next == 0 || req->wait.deadline < next)
			next = req->wait.deadline;
	}
	s->wait_next = next;
	return next;
}

/* The client of the waiting request with serial hung up. */
static void hung_up(struct http_server *s, uint64_t serial)
{
	pthread_mutex_lock(&s->wait_lock);
	for (struct http_req *req = s->waiting; req; req = req->wait.next)
		if (req->wait.serial == serial) {
			atomic_store(&req->wait.peer_gone, true);
			fire_locked(s, req);
			break;
		}
	pthread_mutex_unlock(&s->wait_lock);
}

static void *watcher_main(void *arg)
{
	struct http_server *s = arg;
	struct epoll_event ev[64];
	pthread_setname_np(pthread_self(), "nubo-http-wait");
	for (;;) {
		pthread_mutex_lock(&s->wait_lock);
		if (s->watcher_stop) {
			pthread_mutex_unlock(&s->wait_lock);
			break;
		}
		double next = expire_locked(s, time_mono());
		pthread_mutex_unlock(&s->wait_lock);
		resume_queued(s);
		int ms = -1;
		if (next > 0) {
			double left = (next - time_mono()) * 1000.0;
			ms = left <= 0 ? 0 : left >= INT_MAX - 1 ? INT_MAX : (int)left + 1;
		}
		int n = epoll_wait(s->epfd, ev, (int)ARRAY_SIZE(ev), ms);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 != 0) {
				hung_up(s, ev[i].data.u64);
				continue;
			}
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: nothing more to take */
			}
		}
		resume_queued(s);
	}
	return NULL;
}

/* End every wait and refuse new ones (drain, stop). */
static void wait_end_all(struct http_server *s)
{
	pthread_mutex_lock(&s->wait_lock);
	atomic_store(&s->draining, true);
	while (s->waiting)
		fire_locked(s, s->waiting);
	pthread_mutex_unlock(&s->wait_lock);
	resume_queued(s);
}

/* Set up the watcher thread and its descriptors. Returns 0 or -errno. */
static int watcher_start(struct http_server *s)
{
	pthread_mutex_init(&s->wait_lock, NULL);
	pthread_mutex_init(&s->resume_lock, NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	if (s->epfd < 0 || s->wake_fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev) < 0)
		return -errno;
	return -pthread_create(&s->watcher, NULL, watcher_main, s);
}

/* Stop the watcher thread; no request may wait any more. */
static void watcher_join(struct http_server *s)
{
	pthread_mutex_lock(&s->wait_lock);
	s->watcher_stop = true;
	pthread_mutex_unlock(&s->wait_lock);
	watcher_poke(s);
	pthread_join(s->watcher, NULL);
}

/* Free what the waits used, once no request is left. */
static void watcher_release(struct http_server *s)
{
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->resume_q);
	s->resume_q = NULL;
	pthread_mutex_destroy(&s->resume_lock);
	pthread_mutex_destroy(&s->wait_lock);
}

/* ---- answering ---- */

static enum MHD_Result dispatch(struct http_req *req)
{
	struct http_server *s = req->server;
	if (req->wait.deadline > 0) {
		/* called again after a wait: start from a clean response */
		wait_disarm(req);
		req->resp_headers = NULL;
	}
	s->opts.handler(req, s->opts.userdata);
	if (req->wait.pending) {
		req->wait.pending = false;
		if (req->status == 0) {
			MHD_suspend_connection(req->conn);
			wait_arm(req);
			return MHD_YES;
		}
	}
	req->dispatched = true;
	if (req->status == 0) {

		static const char msg[] = "no response";
		http_resp_set(req, 500, "text/plain", msg, sizeof(msg) - 1);
	}
	struct MHD_Response *resp;
	if (req->resp_fd >= 0) {
		/* MHD owns the descriptor from here on and closes it */
		resp = MHD_create_response_from_fd_at_offset64(req->resp_fd_size, req->resp_fd,
							       req->resp_fd_offset);
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
	metrics_describe(m, "nubo_http_waiting_requests", METRIC_GAUGE,
			 "Requests parked in a long poll, holding no worker thread.");
	metrics_gauge_set(m, "nubo_http_waiting_requests", "", 0);
}

/* A listening TCP socket on ss bound to device dev; the fd or a negative
 * errno. */
static int listen_on_device(const struct sockaddr_storage *ss, socklen_t len, const char *dev)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Read the whole PEM file at path (at most 1 MiB) into a new string. */
static int pem_read(const char *path, char **ret)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t n;
	int r = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0) {
			r = -EFBIG;
			break;
		}
	if (ferror(f))
		r = -EIO;
	fclose(f);
	if (r < 0) {
		explicit_bzero(b.data, b.len);
		buf_release(&b);
		return r;
	}
	*ret = buf_detach(&b, NULL);
	return 0;
}

/* OpenSSL's password callback: a key file must not be encrypted (OpenSSL
 * would otherwise ask on the terminal). */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Check that cert holds a certificate and key the private key that goes
 * with it, so that a mistake is reported as such (GnuTLS, inside MHD, would
 * only fail the start). */
static int tls_check(const char *cert, const char *key)
{
	BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, no_password, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL) : NULL;
	int r = x && k && X509_check_private_key(x, k) == 1 ? 0 : -EINVAL;
	ERR_clear_error(); /* leave no failure behind in this thread's queue */
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return r;
}

/* Load opts' certificate and key into s. */
static int tls_load(struct http_server *s, const struct http_server_opts *opts)
{
	if (!opts->tls_cert != !opts->tls_key)
		return -EINVAL;
	if (!opts->tls_cert)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return -ENOTSUP;
	int r = pem_read(opts->tls_cert, &s->tls_cert);
	if (r == 0)
		r = pem_read(opts->tls_key, &s->tls_key);
	if (r == 0)
		r = tls_check(s->tls_cert, s->tls_key);
	return r;
}

static void tls_release(struct http_server *s)
{
	if (s->tls_key)
		explicit_bzero(s->tls_key, strlen(s->tls_key));
	free(s->tls_key);
	free(s->tls_cert);
	s->tls_key = s->tls_cert = NULL;
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
	s->opts.tls_cert = s->opts.tls_key = NULL;
	s->epfd = s->wake_fd = -1;
	r = tls_load(s, opts);
	if (r < 0) {
		tls_release(s);
		free(s);
		return r;
	}
	if (s->opts.metrics)
		describe_metrics(s->opts.metrics);
	r = watcher_start(s);
	if (r < 0) {
		watcher_release(s);
		tls_release(s);
		free(s);
		return r;
	}
	/* poll(), not epoll: with a thread pool, MHD 0.9.75's quiesce races the
	 * workers over the listen socket in their epoll sets and aborts ("Failed
	 * to remove listen FD from epoll set"), seen on SIGTERM right after a
	 * request */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the options that depend on opts, as an array: where to listen (the
	 * address, or a socket of ours bound to a device, which MHD closes
	 * when it stops), a pool only for more than one thread (MHD warns
	 * about a pool of one or none), a connection limit only when one is
	 * set (MHD's default otherwise), the certificate and key only with TLS */
	int fd = opts->bind_dev ? listen_on_device(&ss, sslen, opts->bind_dev) : -1;
	if (opts->bind_dev && fd < 0) {
		r = fd;
		watcher_join(s);
		watcher_release(s);
		tls_release(s);
		free(s);
		return r;
	}
	s->opts.bind_dev = NULL;
	struct MHD_OptionItem extra[6];
	size_t nextra = 0;
	extra[nextra++] = fd >= 0 ? (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL }
				  : (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	if (opts->threads > 1)
		extra[nextra++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
							   (intptr_t)opts->threads, NULL };
	if (opts->max_conns)
		extra[nextra++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
							   (intptr_t)opts->max_conns, NULL };
	if (s->tls_cert) {
		flags |= MHD_USE_TLS;
		extra[nextra++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
							   s->tls_cert };
		extra[nextra++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
							   s->tls_key };
	}
	extra[nextra] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	s->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, s,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)opts->timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
		MHD_OPTION_ARRAY, extra,
		MHD_OPTION_END);
	if (!s->mhd) {
		int e = errno ? errno : EADDRINUSE;
		if (fd >= 0)
			close(fd);
		watcher_join(s);
		watcher_release(s);
		tls_release(s);
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
	wait_end_all(s);
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
	/* MHD must not stop with connections suspended */
	wait_end_all(s);
	watcher_join(s);
	resume_queued(s);
	MHD_stop_daemon(s->mhd);
	watcher_release(s);
	tls_release(s);
	free(s);
}

/* ---- header values ---- */

int http_parse_range(const char *h, int64_t size, int64_t *ret_off, int64_t *ret_len)
{
	if (!h || !str_starts_with(h, "bytes="))
		return 0;
	const char *s = h + 6;
	if (strchr(s, ','))
		return 0;
	const char *dash = strchr(s, '-');
	if (!dash)
		return 0;
	char a[24], b[24];
	size_t al = (size_t)(dash - s);
	if (al >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return 0;
	memcpy(a, s, al);
	a[al] = '\0';
	str_copy(b, sizeof(b), dash + 1);
	uint64_t first, last;
	if (!a[0]) {
		/* the last b bytes */
		if (parse_u64(b, 0, UINT64_MAX, &last) < 0)
			return 0;
		if (last == 0)
			return -1;
		if (last > (uint64_t)size)
			last = (uint64_t)size;
		if (size == 0)
			return -1;
		*ret_off = size - (int64_t)last;
		*ret_len = (int64_t)last;
		return 1;
	}
	if (parse_u64(a, 0, INT64_MAX, &first) < 0)
		return 0;
	if (b[0] && (parse_u64(b, 0, UINT64_MAX, &last) < 0 || last < first))
		return 0;
	if ((int64_t)first >= size)
		return -1;
	if (!b[0] || last >= (uint64_t)size)
		last = (uint64_t)size - 1;
	*ret_off = (int64_t)first;
	*ret_len = (int64_t)(last - first + 1);
	return 1;
}

