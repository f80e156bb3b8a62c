/* api_instances: /v1/instances and /v1/jobs. An instance belongs to the
 * project of the token that creates it (member role); it is created in
 * one transaction with its quota charges and its job, answered 202, and
 * placed by the scheduler thread. Another project's instance or job is a
 * 404. */
#include <stdio.h>
#include <string.h>

#include "api-priv.h"
#include "lib/arena.h"
#include "lib/jsonreq.h"
#include "lib/timeutil.h"
#include "lib/util.h"

/* The state shown: "unknown" while the instance's host is down. */
static const char *shown_state(struct api_ctx *ctx, const struct instance *i)
{
	static const char *const settled[] = { "pending", "error", "deleting" };
	for (size_t k = 0; k < ARRAY_SIZE(settled); k++)
		if (strcmp(i->state, settled[k]) == 0)
			return i->state;
	if (i->host_id[0] &&
	    time_now_ms() - i->host_heartbeat_ms > ctx->api->opts.host_down_after_ms)
		return "unknown";
	return i->state;
}

static json_t *instance_json(struct api_ctx *ctx, const void *item)
{
	const struct instance *i = item;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s}",
			      "id", i->id, "name", i->name, "project_id", i->project_id,
			      "flavor_id", i->flavor_id, "image_id", i->image_id, "vcpus",
			      (json_int_t)i->vcpus, "ram_mb", (json_int_t)i->ram_mb, "disk_gb",
			      (json_int_t)i->disk_gb, "state", shown_state(ctx, i), "desired", i->desired,
			      "created_at", i->created_at, "updated_at", i->updated_at);
	json_object_set_new(o, "zone_id", i->zone_id[0] ? json_string(i->zone_id) : json_null());
	json_object_set_new(o, "host", i->host_id[0] ? json_string(i->host_id) : json_null());
	json_object_set_new(o, "group_id", i->group_id[0] ? json_string(i->group_id) : json_null());
	json_object_set_new(o, "key_name", i->key_name[0] ? json_string(i->key_name) : json_null());
	if (strcmp(i->state, "error") == 0)
		json_object_set_new(o, "error", json_string(i->error));
	/* its addresses, one per port in the order the guest sees them */
	struct port *ports;
	size_t n;
	if (port_list_instance(api_conn(ctx), i->id, &ports, &n, &ctx->err) < 0) {
		json_decref(o);
		return NULL;
	}
	json_t *addrs = json_array();
	for (size_t k = 0; k < n; k++) {
		json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "network", ports[k].network_id, "port",
				      ports[k].id, "ip", ports[k].ip, "mac", ports[k].mac);
		json_object_set_new(a, "floating_ip", ports[k].floating_ip[0]
							 ? json_string(ports[k].floating_ip)
							 : json_null());
		json_array_append_new(addrs, a);
	}
	free(ports);
	json_object_set_new(o, "addresses", addrs);
	return o;
}

/* The network of an instance to create: "network", "ports" (a list of
 * ports of the project, free), or neither: the project's default network
 * (its only one, or the one named "default"), or none at all. Fills net
 * (*ret_has_net) or ports (ids, arena). 0, or -1 after answering. */
static int body_network(struct api_ctx *ctx, json_t *b, struct network *net, bool *ret_has_net,
			const char **ports, size_t *ret_nports)
{
	const char *project = ctx->principal.project_id, *ref;
	json_t *list = json_object_get(b, "ports");
	struct store_conn *c = api_conn(ctx);
	*ret_has_net = false;
	*ret_nports = 0;
	if (json_req_string(b, "network", false, 128, false, &ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	if (ref && list) {
		api_fail(ctx, ERR_INVALID, "ports", "give network or ports, not both");
		return -1;
	}
	if (list && json_object_get(b, "security_groups")) {
		api_fail(ctx, ERR_INVALID, "security_groups",
			 "ports given keep their own security groups");
		return -1;
	}
	if (list) {
		if (!json_is_array(list) || json_array_size(list) == 0 ||
		    json_array_size(list) > NET_PORTS_PER_INSTANCE) {
			api_fail(ctx, ERR_INVALID, "ports", "ports must be a list of 1 to %d ports",
				 NET_PORTS_PER_INSTANCE);
			return -1;
		}
		for (size_t k = 0; k < json_array_size(list); k++) {
			struct port p;
			const char *pref = json_string_value(json_array_get(list, k));
			if (!pref || strlen(pref) > 128 ||
			    port_get(c, project, pref, &p, &ctx->err) < 0) {
				api_fail(ctx, ERR_INVALID, "ports", "no port '%.80s'",
					 pref ? pref : "(not a string)");
				return -1;
			}
			for (size_t m = 0; m < k; m++)
				if (strcmp(ports[m], p.id) == 0) {
					api_fail(ctx, ERR_INVALID, "ports", "port '%.80s' is listed twice",
						 pref);
					return -1;
				}
			ports[k] = arena_strdup(ctx->req->arena, p.id);
		}
		*ret_nports = json_array_size(list);
		return 0;
	}
	int r = ref ? network_get(c, project, ref, net, &ctx->err)
		    : network_default(c, project, net, &ctx->err);
	if (r < 0 && ref) {
		api_fail(ctx, ERR_INVALID, "network", "no network '%.80s'", ref);
		return -1;
	}
	if (r < 0) {
		api_reply_error(ctx);
		return -1;
	}
	*ret_has_net = ref || r == 1;
	return 0;
}

/* Give new instance i its NICs: a new port on net, or the ports given. */
static int plug(struct api_ctx *ctx, const struct instance *i, const struct network *net,
		bool has_net, const char **ports, size_t nports, json_t *b)
{
	struct store_conn *c = api_conn(ctx);
	for (size_t k = 0; k < nports; k++)
		if (port_attach(c, ports[k], i->id, (int64_t)k, &ctx->err) < 0)
			return -1;
	if (!has_net)
		return 0;
	const char *const *groups;
	size_t ng;
	if (api_body_groups(ctx, b, i->project_id, &groups, &ng) < 0)
		return -2; /* answered */
	struct port_spec spec = { .owner = PORT_OWNER_INSTANCE, .groups = groups, .ngroups = ng };
	struct port p;
	if (port_create(c, i->project_id, net, &spec, &p, &ctx->err) < 0 ||
	    port_attach(c, p.id, i->id, 0, &ctx->err) < 0)
		return -1;
	return 0;
}


static int charge(struct api_ctx *ctx, const char *project, const struct flavor *f)
{
	struct store_conn *c = api_conn(ctx);
	if (quota_charge(c, project, QUOTA_INSTANCES, 1, &ctx->err) < 0 ||
	    quota_charge(c, project, QUOTA_VCPUS, f->vcpus, &ctx->err) < 0 ||
	    quota_charge(c, project, QUOTA_RAM_MB, f->ram_mb, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	return 0;
}

static void instances_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "image", "flavor", "zone", "group",
					       "user_data", "keypair", "network", "ports",
					       "security_groups", NULL };
	const char *name, *image_ref, *flavor_ref, *zone_ref, *group_ref, *user_data, *key_ref;
	const struct principal *p = &ctx->principal;
	ctx->audit_type = "instance";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, INSTANCE_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "image", true, 128, false, &image_ref, &ctx->err) < 0 ||
	    json_req_string(b, "flavor", true, 128, false, &flavor_ref, &ctx->err) < 0 ||
	    json_req_string(b, "zone", false, 128, false, &zone_ref, &ctx->err) < 0 ||
	    json_req_string(b, "group", false, 128, false, &group_ref, &ctx->err) < 0 ||
	    json_req_string(b, "user_data", false, INSTANCE_USER_DATA_MAX, true, &user_data,
			    &ctx->err) < 0 ||
	    json_req_string(b, "keypair", false, 128, false, &key_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "instances") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct flavor f;
	struct image im;
	struct zone z = { 0 };
	if (flavor_get(c, flavor_ref, &f, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "flavor", "no flavor '%.80s'", flavor_ref);
		return;
	}
	if (api_active_image(ctx, image_ref, &im) < 0)
		return;
	if (zone_ref && zone_get(c, zone_ref, &z, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "zone", "no zone '%.80s'", zone_ref);
		return;
	}
	struct server_group g = { 0 };
	if (group_ref && group_get(c, p->project_id, group_ref, &g, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "group", "no server group '%.80s'", group_ref);
		return;
	}
	struct network net;
	bool has_net;
	const char *ports[NET_PORTS_PER_INSTANCE];
	size_t nports;
	if (body_network(ctx, b, &net, &has_net, ports, &nports) < 0)
		return;
	if (!has_net && json_object_get(b, "security_groups")) {
		api_fail(ctx, ERR_INVALID, "security_groups",
			 "security groups apply to the instance's port: give a network");
		return;
	}
	struct keypair kp = { 0 };
	if (key_ref && keypair_get(c, p->user_id, key_ref, &kp, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "keypair", "you have no keypair '%.80s'", key_ref);
		return;
	}
	struct instance_spec spec = { .name = name, .flavor = &f, .image_id = im.id,
				      .zone_id = zone_ref ? z.id : NULL,
				      .group_id = group_ref ? g.id : NULL, .user_data = user_data,
				      .key_name = key_ref ? kp.name : NULL,
				      .public_key = kp.public_key };
	struct instance i;
	struct job j;
	int r = charge(ctx, p->project_id, &f);
	if (r == 0 && (instance_create(c, p->project_id, &spec, &i, &ctx->err) < 0 ||
		       job_create(c, p->project_id, "instance.create", i.id, &j, &ctx->err) < 0)) {
		api_reply_error(ctx);
		r = -1;
	}
	keypair_release(&kp);
	if (r < 0)
		return;
	r = plug(ctx, &i, &net, has_net, ports, nports, b);
	json_t *o = r == 0 ? instance_json(ctx, &i) : NULL;
	if (!o) {
		if (r != -2)
			api_reply_error(ctx);
		return;
	}
	json_object_set_new(o, "job_id", json_string(j.id));
	api_reply_located(ctx, 202, "/v1/instances", i.id, o);
	if (ctx->api->opts.wake_scheduler)
		ctx->api->opts.wake_scheduler(ctx->api->opts.wake_arg);
}

static void instances_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct instance *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (instance_list(api_conn(ctx), api_scope(ctx), after, limit, &items, &n, &more,
			  &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	char *last = more ? xasprintf("%s %s", items[n - 1].name, items[n - 1].id) : NULL;
	api_reply_page(ctx, items, n, sizeof(*items), instance_json, last);
	free(last);
	free(items);
}

static int visible_instance(struct api_ctx *ctx, enum role need, struct instance *ret)
{
	int r = instance_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

static void instances_get(struct api_ctx *ctx)
{
	struct instance i;
	if (visible_instance(ctx, ROLE_READER, &i) < 0)
		return;
	json_t *o = instance_json(ctx, &i);
	if (o)
		api_reply_json(ctx, 200, o);
	else
		api_reply_error(ctx);
}

/* Give back an instance's quota, if it still holds it. */
static int release_quota(struct api_ctx *ctx, const struct instance *i)
{
	if (!i->holds_quota)
		return 0;
	struct store_conn *c = api_conn(ctx);
	if (quota_release(c, i->project_id, QUOTA_INSTANCES, 1, &ctx->err) < 0 ||
	    quota_release(c, i->project_id, QUOTA_VCPUS, i->vcpus, &ctx->err) < 0 ||
	    quota_release(c, i->project_id, QUOTA_RAM_MB, i->ram_mb, &ctx->err) < 0)
		return -1;
	return 0;
}

static void instances_delete(struct api_ctx *ctx)
{
	struct instance i;
	struct job j;
	ctx->audit_type = "instance";
	if (visible_instance(ctx, ROLE_MEMBER, &i) < 0)
		return;
	if (strcmp(i.state, "migrating") == 0) {
		api_fail(ctx, ERR_CONFLICT, "", "the instance is migrating; delete it once it ends");
		return;
	}
	struct store_conn *c = api_conn(ctx);
	/* cancel what was running, then start the delete job */
	if (job_finish(c, i.id, false, "the instance is being deleted", &ctx->err) < 0 ||
	    job_create(c, i.project_id, "instance.delete", i.id, &j, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (!i.host_id[0]) {
		/* nothing of it runs anywhere: gone at once */
		if (release_quota(ctx, &i) < 0 || port_release_instance(c, i.id, &ctx->err) < 0 ||
		    instance_remove(c, i.id, &ctx->err) < 0 ||
		    job_finish(c, i.id, true, NULL, &ctx->err) < 0 ||
		    job_get(c, NULL, j.id, &j, &ctx->err) < 0) {
			api_reply_error(ctx);
			return;
		}
	} else if (instance_request_delete(c, i.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_host_changed(ctx, i.host_id);
	api_reply_json(ctx, 202, json_pack("{s:s, s:o}", "job_id", j.id, "job", api_job_json(&j)));
}

/* start, stop and reboot: which states each may start from, and what it asks. */
struct action {
	const char *name;     /* "start" */
	const char *from[3];  /* states it applies to */
	const char *desired;  /* desired state it sets */
	const char *state;    /* transitional state it sets */
};

static const struct action actions[] = {
	{ "start", { "stopped", NULL }, "running", "starting" },
	{ "stop", { "running", "starting", NULL }, "stopped", "stopping" },
	{ "reboot", { "running", NULL }, "running", "rebooting" },
};

/* The common end of an action on instance i, once its own change is
 * made: the instance's running job is superseded by a new one of kind, i is
 * read again, its host is woken. Returns the answer (the instance and its
 * job_id; the caller adds to it and sends it) or NULL after answering the
 * error. */
static json_t *action_job(struct api_ctx *ctx, struct instance *i, const char *kind)
{
	struct store_conn *c = api_conn(ctx);
	struct job j;
	if (job_finish(c, i->id, false, "superseded by a newer action", &ctx->err) < 0 ||
	    job_create(c, i->project_id, kind, i->id, &j, &ctx->err) < 0 ||
	    instance_get(c, NULL, i->id, i, &ctx->err) < 0) {
		api_reply_error(ctx);
		return NULL;
	}
	api_host_changed(ctx, i->host_id);
	json_t *o = instance_json(ctx, i);
	if (!o) {
		api_reply_error(ctx);
		return NULL;
	}
	json_object_set_new(o, "job_id", json_string(j.id));
	return o;
}

static void act(struct api_ctx *ctx, const struct action *a)
{
	struct instance i;
	char kind[32];
	ctx->audit_type = "instance";
	if (visible_instance(ctx, ROLE_MEMBER, &i) < 0)
		return;
	bool ok = false;
	for (size_t k = 0; a->from[k]; k++)
		ok |= strcmp(i.state, a->from[k]) == 0;
	if (!ok) {
		api_fail(ctx, ERR_CONFLICT, "", "cannot %s an instance that is %s", a->name, i.state);
		return;
	}
	str_printf(kind, sizeof(kind), "instance.%s", a->name);
	if (instance_request(api_conn(ctx), i.id, a->desired, a->state, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *o = action_job(ctx, &i, kind);
	if (o)
		api_reply_json(ctx, 202, o);
}

/* A quota change by delta (either sign). */
static int quota_adjust(struct api_ctx *ctx, const char *project, enum quota_resource q,
			int64_t delta)
{
	struct store_conn *c = api_conn(ctx);
	if (delta > 0)
		return quota_charge(c, project, q, delta, &ctx->err);
	return delta < 0 ? quota_release(c, project, q, -delta, &ctx->err) : 0;
}

/* POST /v1/instances/{id}/resize {"flavor"}: a stopped instance gets
 * another flavor on its host (vCPUs and memory either way, disk only
 * larger); its host applies it (state resizing, then stopped). */
static void instances_resize(struct api_ctx *ctx)
{
	static const char *const fields[] = { "flavor", NULL };
	const char *flavor_ref;
	struct instance i;
	struct flavor f;
	ctx->audit_type = "instance";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "flavor", true, 128, false, &flavor_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (visible_instance(ctx, ROLE_MEMBER, &i) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if (flavor_get(c, flavor_ref, &f, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "flavor", "no flavor '%.80s'", flavor_ref);
		return;
	}
	struct sched_request from = { .vcpus = i.vcpus, .ram_mb = i.ram_mb, .disk_gb = i.disk_gb },
			     to = { .vcpus = f.vcpus, .ram_mb = f.ram_mb, .disk_gb = f.disk_gb };
	if (instance_resize(c, i.id, &f, &ctx->err) < 0 ||
	    (i.holds_quota &&
	     (quota_adjust(ctx, i.project_id, QUOTA_VCPUS, f.vcpus - i.vcpus) < 0 ||
	      quota_adjust(ctx, i.project_id, QUOTA_RAM_MB, f.ram_mb - i.ram_mb) < 0))) {
		api_reply_error(ctx);
		return;
	}
	json_t *o = action_job(ctx, &i, "instance.resize");
	if (!o)
		return;
	/* last, as the transaction cannot undo it */
	char why[256];
	if (sched_resize(ctx->api->opts.sched, i.host_id, &from, &to, why, sizeof(why)) < 0) {
		json_decref(o);
		api_fail(ctx, ERR_CONFLICT, "flavor", "%s", why);
		return;
	}
	api_reply_json(ctx, 202, o);
}

/* POST /v1/instances/{id}/snapshot {"name", "visibility"?}: a stopped
 * instance's disk becomes a new image of its project; its host uploads it
 * (state snapshotting, then stopped, with the job done). */
static void instances_snapshot(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "visibility", NULL };
	struct image_spec spec = { 0 };
	struct instance i;
	struct image im;
	ctx->audit_type = "instance";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, IMAGE_NAME_MAX, false, &spec.name, &ctx->err) < 0 ||
	    json_req_string(b, "visibility", false, 16, false, &spec.visibility, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (visible_instance(ctx, ROLE_MEMBER, &i) < 0)
		return;
	if (spec.visibility && strcmp(spec.visibility, "private") != 0 && !api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "visibility", "only system administrators publish images");
		return;
	}
	struct store_conn *c = api_conn(ctx);
	if (image_create(c, i.project_id, &spec, &im, &ctx->err) < 0 ||
	    instance_snapshot_begin(c, i.id, im.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *o = action_job(ctx, &i, "instance.snapshot");
	if (!o)
		return;
	json_object_set_new(o, "image_id", json_string(im.id));
	api_reply_json(ctx, 202, o);
}

/* What an instance holds on its host, for the capacity index. */
static struct sched_request held(struct api_ctx *ctx, const struct instance *i)
{
	struct sched_request req = { .vcpus = i->vcpus, .ram_mb = i->ram_mb,
				     .disk_gb = i->disk_gb, .zone_id = i->zone_id,
				     .group_id = i->group_id };
	struct server_group g;
	struct err e = { 0 };
	if (i->group_id[0] && group_get(api_conn(ctx), NULL, i->group_id, &g, &e) == 0)
		req.anti_affinity = strcmp(g.policy, "anti-affinity") == 0;
	return req;
}

/* POST /v1/instances/{id}/migrate {"host"?}: a system administrator moves
 * a stopped instance to another host (the one named, or the scheduler's
 * choice). Its host uploads its disk as a system image; the target host
 * downloads and checks it, builds the instance and reports it stopped; only
 * then is the old host's copy removed. */
/* The hosts that reach every volume of instance i (sorted ids, in *ret,
 * which the caller frees): 1 when it has volumes, 0 when none, -1 (answered)
 * when one is on local storage, whose data cannot follow it. */
static int volume_hosts(struct api_ctx *ctx, const struct instance *i, char (**ret)[UUID_SIZE],
			size_t *ret_n)
{
	struct store_conn *c = api_conn(ctx);
	struct volume *vols;
	size_t n, np = 0;
	if (volume_list_instance(c, i->id, &vols, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	const char *pools[sizeof(VOLUME_DEVICES)];
	int r = n > 0;
	for (size_t k = 0; k < n && r > 0; k++) {
		if (!vols[k].pool[0]) {
			api_fail(ctx, ERR_CONFLICT, "",
				 "volume '%s' is attached and its data stays on the instance's host "
				 "(local storage); detach it first", vols[k].name);
			r = -1;
			break;
		}
		size_t j = 0;
		while (j < np && strcmp(pools[j], vols[k].pool) != 0)
			j++;
		if (j == np && np < sizeof(pools) / sizeof(pools[0]))
			pools[np++] = vols[k].pool;
	}
	if (r > 0 && host_list_with_pools(c, pools, np, ret, ret_n, &ctx->err) < 0) {
		api_reply_error(ctx);
		r = -1;
	}
	free(vols);
	return r;
}

static void instances_migrate(struct api_ctx *ctx)
{
	static const char *const fields[] = { "host", NULL };
	const char *host_ref = NULL;
	struct instance i;
	ctx->audit_type = "instance";
	json_t *b = api_body_optional(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "host", false, 128, false, &host_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (visible_instance(ctx, ROLE_ADMIN, &i) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct host target = { 0 };
	if (host_ref && host_get(c, host_ref, &target, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "host", "no host '%.80s'", host_ref);
		return;
	}
	if (host_ref && strcmp(target.id, i.host_id) == 0) {
		api_fail(ctx, ERR_INVALID, "host", "the instance is on host '%s' already",
			 target.name);
		return;
	}
	if (strcmp(i.state, "stopped") != 0) {
		api_fail(ctx, ERR_CONFLICT, "", "only a stopped instance can be migrated; it is %s",
			 i.state);
		return;
	}
	static const char no_host[1][UUID_SIZE];
	char(*reach)[UUID_SIZE] = NULL;
	size_t nreach = 0;
	int r = volume_hosts(ctx, &i, &reach, &nreach);
	if (r < 0)
		return;
	struct sched_request req = held(ctx, &i);
	req.only_host = host_ref ? target.id : NULL;
	req.avoid_host = i.host_id;
	if (r > 0) { /* its volumes go with it: only hosts that reach them */
		req.only_hosts = reach ? (const char(*)[UUID_SIZE])reach : no_host;
		req.n_only_hosts = nreach;
	}
	char to[UUID_SIZE], why[256];
	r = sched_place(ctx->api->opts.sched, &req, time_now_ms(), to, why, sizeof(why));
	free(reach);
	if (r < 0) {
		api_fail(ctx, ERR_CONFLICT, "host", "no host can take the instance: %s", why);
		return;
	}
	char name[64];
	str_printf(name, sizeof(name), "migration-%s", i.id);
	struct image_spec spec = { .name = name, .visibility = "private",
				   .description = "the disk of a migrating instance" };
	struct image im;
	json_t *o = NULL;
	if (image_create(c, "", &spec, &im, &ctx->err) < 0 ||
	    instance_migrate_begin(c, i.id, im.id, to, &ctx->err) < 0)
		api_reply_error(ctx);
	else
		o = action_job(ctx, &i, "instance.migrate");
	if (!o) {
		sched_release(ctx->api->opts.sched, to, &req); /* the transaction cannot */
		return;
	}
	json_object_set_new(o, "target_host", json_string(to));
	api_reply_json(ctx, 202, o);
}

static void instances_start(struct api_ctx *ctx)
{
	act(ctx, &actions[0]);
}

static void instances_stop(struct api_ctx *ctx)
{
	act(ctx, &actions[1]);
}

static void instances_reboot(struct api_ctx *ctx)
{
	act(ctx, &actions[2]);
}

/* GET /v1/instances/{id}/console[?tail=N | ?offset=N]: the serial console
 * as its host last sent it (its last 64 KiB): all of it, its last N bytes,
 * or from byte N of the whole console on. X-Console-Start and
 * X-Console-End give the positions of the first byte sent and of the byte
 * after the last, so a client that asks again with offset=End gets only
 * what is new. */
static void instances_console(struct api_ctx *ctx)
{
	struct instance i;
	uint64_t tail = 0, offset = 0;
	bool has_tail, has_offset;
	if (api_query_u64(ctx, "tail", API_CONSOLE_OFFSET_MAX, &tail, &has_tail) < 0 ||
	    api_query_u64(ctx, "offset", API_CONSOLE_OFFSET_MAX, &offset, &has_offset) < 0)
		return;
	if (has_tail && has_offset) {
		api_fail(ctx, ERR_INVALID, "tail", "give tail or offset, not both");
		return;
	}
	if (visible_instance(ctx, ROLE_READER, &i) < 0)
		return;
	char *path = api_console_path(ctx, i.id);
	FILE *f = fopen(path, "re");
	free(path);
	struct buf b;
	buf_init(&b, 0);
	uint64_t start = 0;
	if (f) {
		char head[32];
		size_t hn = fgets(head, sizeof(head), f) ? strlen(head) : 0;
		if (hn > 1 && head[hn - 1] == '\n')
			head[hn - 1] = '\0';
		if (hn < 2 || parse_u64(head, 0, API_CONSOLE_OFFSET_MAX, &start) < 0) {
			start = 0; /* not in the kept form: take it as text from the start */
			rewind(f);
		}
		char chunk[8192];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&b, chunk, n);
		fclose(f);
	}
	uint64_t end = start + b.len, from = start;
	if (has_tail)
		from = tail < b.len ? end - tail : start;
	else if (has_offset)
		from = offset < start ? start : offset > end ? end : offset;
	size_t len;
	char *text = buf_detach(&b, &len);
	size_t skip = (size_t)(from - start);
	memmove(text, text + skip, len - skip);
	http_resp_take(ctx->req, 200, "text/plain; charset=utf-8", text, len - skip);
	http_resp_header(ctx->req, "Cache-Control", "no-store");
	char v[24];
	str_printf(v, sizeof(v), "%llu", (unsigned long long)from);
	http_resp_header(ctx->req, "X-Console-Start", v);
	str_printf(v, sizeof(v), "%llu", (unsigned long long)end);
	http_resp_header(ctx->req, "X-Console-End", v);
}

static void jobs_get(struct api_ctx *ctx)
{
	struct job j;
	if (job_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), &j, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, api_job_json(&j));
}

static json_t *group_json(const struct server_group *g)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", g->id, "name", g->name, "project_id",
			 g->project_id, "policy", g->policy, "created_at", g->created_at);
}

static void groups_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "policy", NULL };
	const char *name, *policy;
	struct server_group g;
	ctx->audit_type = "server_group";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, GROUP_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "policy", true, 16, false, &policy, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	const struct principal *p = &ctx->principal;
	if (api_creating_in_project(ctx, "server groups") < 0)
		return;
	if (group_create(api_conn(ctx), p->project_id, name, policy, &g, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), g.project_id);
	api_reply_created(ctx, "/v1/server-groups", g.id, group_json(&g));
}

static void groups_list(struct api_ctx *ctx)
{
	struct server_group *items;
	size_t n;
	if (group_list(api_conn(ctx), api_scope(ctx), &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, group_json(&items[k]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static int visible_group(struct api_ctx *ctx, enum role need, struct server_group *ret)
{
	int r = group_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

static void groups_get(struct api_ctx *ctx)
{
	struct server_group g;
	if (visible_group(ctx, ROLE_READER, &g) == 0)
		api_reply_json(ctx, 200, group_json(&g));
}

static void groups_delete(struct api_ctx *ctx)
{
	struct server_group g;
	ctx->audit_type = "server_group";
	if (visible_group(ctx, ROLE_MEMBER, &g) < 0)
		return;
	if (group_delete(api_conn(ctx), g.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_instance_routes[] = {
	{ "POST", "/v1/server-groups", groups_create, API_USER, "server_group.create", 0, NULL },
	{ "GET", "/v1/server-groups", groups_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/server-groups/{id}", groups_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/server-groups/{id}", groups_delete, API_USER, "server_group.delete", 0,
	  NULL },
	{ "POST", "/v1/instances", instances_create, API_USER, "instance.create", 0, NULL },
	{ "GET", "/v1/instances", instances_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/instances/{id}", instances_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/instances/{id}", instances_delete, API_USER, "instance.delete", 0, NULL },
	{ "POST", "/v1/instances/{id}/start", instances_start, API_USER, "instance.start", 0,
	  NULL },
	{ "POST", "/v1/instances/{id}/stop", instances_stop, API_USER, "instance.stop", 0, NULL },
	{ "POST", "/v1/instances/{id}/reboot", instances_reboot, API_USER, "instance.reboot", 0,
	  NULL },
	{ "GET", "/v1/instances/{id}/console", instances_console, API_USER, NULL, 0, NULL },
	{ "POST", "/v1/instances/{id}/resize", instances_resize, API_USER, "instance.resize", 0,
	  NULL },
	{ "POST", "/v1/instances/{id}/snapshot", instances_snapshot, API_USER,
	  "instance.snapshot", 0, NULL },
	{ "POST", "/v1/instances/{id}/migrate", instances_migrate, API_SYSADMIN,
	  "instance.migrate", 0, NULL },
	{ "GET", "/v1/jobs/{id}", jobs_get, API_USER, NULL, 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
