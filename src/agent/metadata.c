/* metadata: the metadata service at http://169.254.169.254/ for the guests
 * of this host; see agent.h and docs/design/networking.md.
 *
 * Each network's bridge holds 169.254.169.254/32, and one small HTTP
 * server (lib/http) per network listens on 169.254.169.254:80 bound to
 * that bridge (SO_BINDTODEVICE): the bridge says which network a request
 * came from, and the source address which port, since anti-spoofing lets a
 * port send only from its own address. The port names the instance, and
 * the answer is what the config drive holds about that instance only
 * (instance-id, name, public key, user data), in the OpenStack
 * (/openstack/latest/meta_data.json, .../user_data) and EC2
 * (/latest/meta-data/instance-id, ...) path styles. An address no port of
 * this host holds gets 404.
 *
 * The servers run on threads of their own; each pass gives every server a
 * new table (address -> instance) under the server's lock. */
#include <arpa/inet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent-priv.h"
#include "agent.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"

#define META_LISTEN "169.254.169.254:80"

struct md_server {
	char net_id[40];            /* the network it serves */
	char br[16];                /* its bridge */
	unsigned ifindex;           /* the bridge the socket is bound to */
	struct http_server *http;
	pthread_mutex_t lock;       /* protects by_ip */
	json_t *by_ip;              /* guest address -> what it may read (owned) */
};

/* What an instance may read of itself: the fields the config drive has. */
static json_t *instance_doc(json_t *it, const char *ip)
{
	json_t *d = json_object();
	static const char *const keys[] = { "id", "name", "user_data", "public_key" };
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *v = json_string_value(json_object_get(it, keys[k]));
		if (v)
			json_object_set_new(d, keys[k], json_string(v));
	}
	json_object_set_new(d, "ip", json_string(ip));
	return d;
}

static json_t *item_find(json_t *items, const char *id)
{
	size_t k;
	json_t *it;
	json_array_foreach(items, k, it) {
		const char *iid = json_string_value(json_object_get(it, "id"));
		if (iid && strcmp(iid, id) == 0)
			return it;
	}
	return NULL;
}

static void reply_text(struct http_req *req, unsigned status, const char *type, const char *text)
{
	http_resp_set(req, status, type, text, strlen(text));
}

/* The part of path after "/<version>/", or NULL when path is not so. */
static const char *after_version(const char *path, const char *prefix)
{
	if (!str_starts_with(path, prefix))
		return NULL;
	const char *v = path + strlen(prefix);
	const char *slash = strchr(v, '/');
	if (!slash || slash == v)
		return NULL;
	for (const char *c = v; c < slash; c++)
		if (!strchr("0123456789-latest", *c))
			return NULL;
	return slash + 1;
}

/* The OpenStack style: meta_data.json and user_data. */
static void openstack(struct http_req *req, json_t *d, const char *rest)
{
	const char *id = json_string_value(json_object_get(d, "id"));
	const char *name = json_string_value(json_object_get(d, "name"));
	const char *key = json_string_value(json_object_get(d, "public_key"));
	const char *ud = json_string_value(json_object_get(d, "user_data"));
	if (strcmp(rest, "meta_data.json") == 0) {
		json_t *m = json_pack("{s:s, s:s, s:s, s:i}", "uuid", id, "name", name ? name : id,
				      "hostname", name ? name : id, "launch_index", 0);
		if (key && key[0])
			json_object_set_new(m, "public_keys", json_pack("{s:s}", "default", key));
		char *text = json_dumps(m, JSON_COMPACT);
		http_resp_take(req, 200, "application/json", text, strlen(text));
		json_decref(m);
	} else if (strcmp(rest, "user_data") == 0 && ud && ud[0]) {
		reply_text(req, 200, "application/octet-stream", ud);
	} else if (rest[0] == '\0') {
		reply_text(req, 200, "text/plain", ud && ud[0] ? "meta_data.json\nuser_data\n"
							       : "meta_data.json\n");
	} else {
		reply_text(req, 404, "text/plain", "not found\n");
	}
}

/* The EC2 style: meta-data/... and user-data. */
static void ec2(struct http_req *req, json_t *d, const char *rest)
{
	const char *id = json_string_value(json_object_get(d, "id"));
	const char *name = json_string_value(json_object_get(d, "name"));
	const char *key = json_string_value(json_object_get(d, "public_key"));
	const char *ud = json_string_value(json_object_get(d, "user_data"));
	const char *ip = json_string_value(json_object_get(d, "ip"));
	const char *answer = NULL;
	bool has_key = key && key[0];
	if (strcmp(rest, "meta-data/") == 0 || strcmp(rest, "meta-data") == 0)
		answer = has_key ? "instance-id\nhostname\nlocal-hostname\nlocal-ipv4\npublic-keys/\n"
				 : "instance-id\nhostname\nlocal-hostname\nlocal-ipv4\n";
	else if (strcmp(rest, "meta-data/instance-id") == 0)
		answer = id;
	else if (strcmp(rest, "meta-data/hostname") == 0 ||
		 strcmp(rest, "meta-data/local-hostname") == 0)
		answer = name ? name : id;
	else if (strcmp(rest, "meta-data/local-ipv4") == 0)
		answer = ip;
	else if (has_key && strcmp(rest, "meta-data/public-keys/") == 0)
		answer = "0=default\n";
	else if (has_key && strcmp(rest, "meta-data/public-keys/0/openssh-key") == 0)
		answer = key;
	else if (strcmp(rest, "user-data") == 0 && ud && ud[0])
		answer = ud;
	if (answer)
		reply_text(req, 200, "text/plain", answer);
	else
		reply_text(req, 404, "text/plain", "not found\n");
}

static void handle(struct http_req *req, void *userdata)
{
	struct md_server *s = userdata;
	req->route = "metadata";
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		reply_text(req, 405, "text/plain", "only GET\n");
		return;
	}
	pthread_mutex_lock(&s->lock);
	json_t *d = json_incref(json_object_get(s->by_ip, req->peer));
	pthread_mutex_unlock(&s->lock);
	const char *rest;
	if (!d)
		reply_text(req, 404, "text/plain", "no instance of this host has this address\n");
	else if (strcmp(req->path, "/") == 0)
		reply_text(req, 200, "text/plain", "latest\nopenstack/\n");
	else if (strcmp(req->path, "/openstack") == 0 || strcmp(req->path, "/openstack/") == 0)
		reply_text(req, 200, "text/plain", "latest\n");
	else if ((rest = after_version(req->path, "/openstack/")))
		openstack(req, d, rest);
	else if ((rest = after_version(req->path, "/")))
		ec2(req, d, rest);
	else
		reply_text(req, 404, "text/plain", "not found\n");
	json_decref(d);
}

static void server_free(struct md_server *s)
{
	if (!s)
		return;
	http_server_free(s->http);
	pthread_mutex_destroy(&s->lock);
	json_decref(s->by_ip);
	free(s);
}

static struct md_server *server_new(const struct net_net *n)
{
	struct md_server *s = xcalloc(1, sizeof(*s));
	str_copy(s->net_id, sizeof(s->net_id), n->id);
	str_copy(s->br, sizeof(s->br), n->br);
	s->ifindex = if_nametoindex(n->br);
	pthread_mutex_init(&s->lock, NULL);
	s->by_ip = json_object();
	struct http_server_opts o = { .listen = META_LISTEN, .bind_dev = n->br, .threads = 1,
				      .body_limit = 4096, .timeout_s = 10, .handler = handle,
				      .userdata = s, .max_conns = 64 };
	int r = http_server_start(&o, &s->http);
	if (r < 0) {
		log_warn("cannot serve metadata on %s: %s", n->br, strerror(-r));
		server_free(s);
		return NULL;
	}
	log_line(LOGL_INFO, "metadata service started", "network", n->id, "dev", n->br, NULL);
	return s;
}

/* The server of network n, kept or made; NULL when it cannot start. A
 * server whose bridge was made again (its socket stays bound to the old
 * one) is made again too. */
static struct md_server *server_for(struct agent_net *cfg, const struct net_net *n)
{
	for (size_t k = 0; k < cfg->nmd; k++) {
		struct md_server *s = cfg->md[k];
		if (strcmp(s->net_id, n->id) != 0)
			continue;
		if (s->ifindex && s->ifindex == if_nametoindex(n->br))
			return s;
		server_free(s);
		cfg->md[k] = cfg->md[--cfg->nmd];
		break;
	}
	struct md_server *s = server_new(n);
	if (s) {
		cfg->md = xrealloc(cfg->md, (cfg->nmd + 1) * sizeof(*cfg->md));
		cfg->md[cfg->nmd++] = s;
	}
	return s;
}

int agent_metadata_converge(struct agent_net *cfg, const struct net_state *st, json_t *items)
{
	int r = 0;
	for (size_t k = 0; k < st->nnets; k++) {
		const struct net_net *n = &st->nets[k];
		if (!n->nports)
			continue;
		struct md_server *s = server_for(cfg, n);
		if (!s) {
			r = -1;
			continue;
		}
		json_t *by_ip = json_object();
		for (size_t p = 0; p < n->nports; p++) {
			json_t *it = n->ports[p].instance ? item_find(items, n->ports[p].instance) : NULL;
			if (it)
				json_object_set_new(by_ip, n->ports[p].ip, instance_doc(it, n->ports[p].ip));
		}
		pthread_mutex_lock(&s->lock);
		json_t *old = s->by_ip;
		s->by_ip = by_ip;
		pthread_mutex_unlock(&s->lock);
		json_decref(old);
	}
	/* servers of networks gone, or without ports here, stop */
	size_t kept = 0;
	for (size_t k = 0; k < cfg->nmd; k++) {
		bool wanted = false;
		for (size_t i = 0; i < st->nnets; i++)
			wanted |= st->nets[i].nports && strcmp(st->nets[i].id, cfg->md[k]->net_id) == 0;
		if (wanted)
			cfg->md[kept++] = cfg->md[k];
		else
			server_free(cfg->md[k]);
	}
	cfg->nmd = kept;
	return r;
}

void agent_net_release(struct agent_net *cfg)
{
	for (size_t k = 0; k < cfg->nmd; k++)
		server_free(cfg->md[k]);
	free(cfg->md);
	cfg->md = NULL;
	cfg->nmd = 0;
}
