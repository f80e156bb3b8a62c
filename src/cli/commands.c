/* commands: the CLI's command table, as data. One row per resource verb:
 * its HTTP method and path ({} is filled with the positional arguments
 * marked IN_PATH, in order), its parameters (each says whether it goes in
 * the path, the JSON body, the query string, or to the handler), the
 * columns `list` prints, and a handler only when the verb is more than
 * one request. To add a resource (volumes, networks...), add its
 * cli_resources entry and its rows; nothing else changes. */
#include <stddef.h>

#include "cli/cli.h"

/* A positional argument that names the resource in the path (id or name). */
#define ARG_PATH(M, H) { NULL, M, "id", IN_PATH, T_STR, P_REQUIRED, NULL, H }
/* A positional argument that is a body field. */
#define ARG_BODY(M, K, H) { NULL, M, K, IN_BODY, T_STR, P_REQUIRED, NULL, H }
/* A positional argument for the handler. */
#define ARG_LOCAL(M, K, H) { NULL, M, K, IN_LOCAL, T_STR, P_REQUIRED, NULL, H }
/* --flag VALUE for a body field of type T. */
#define OPT(F, M, K, T, H) { F, M, K, IN_BODY, T, 0, NULL, H }
#define REQ(F, M, K, T, H) { F, M, K, IN_BODY, T, P_REQUIRED, NULL, H }
/* --flag that sets body field K to the JSON V. */
#define SWITCH(F, K, V, H) { F, NULL, K, IN_BODY, T_SWITCH, 0, V, H }
/* --flag VALUE as a query parameter of the same name. */
#define QUERY(F, M, H) { F, M, F, IN_QUERY, T_STR, 0, NULL, H }
/* --flag [VALUE] for the handler. */
#define LOCAL(F, M, H) { F, M, F, IN_LOCAL, T_STR, 0, NULL, H }
#define LOCAL_REQ(F, M, H) { F, M, F, IN_LOCAL, T_STR, P_REQUIRED, NULL, H }
#define LOCAL_SWITCH(F, H) { F, NULL, F, IN_LOCAL, T_SWITCH, 0, NULL, H }
#define END { NULL, NULL, NULL, IN_BODY, T_STR, 0, NULL, NULL }

/* Paging of lists: limit and cursor as the API takes them, or every page. */
#define PAGE QUERY("limit", "N", "at most N items (1-1000; the API's default is 100)"), \
	QUERY("cursor", "CURSOR", "start after this cursor (a list's `next`)"), \
	LOCAL_SWITCH("all", "fetch every page")
#define WAIT LOCAL_SWITCH("wait", "wait until the job ends, showing the instance's state"), \
	LOCAL("wait-timeout", "SECONDS", "give up waiting after this long (default 600)")

const struct cli_resource cli_resources[] = {
	{ "login", "log in and store a token in a profile" },
	{ "logout", "revoke the profile's token and forget it" },
	{ "whoami", "who the current credentials are" },
	{ "version", "nubod's version" },
	{ "profile", "the profiles in ~/.config/nubo/config" },
	{ "zone", "sites with a jurisdiction (list, show, create, set, delete)" },
	{ "flavor", "instance sizes (list, show, create, delete)" },
	{ "host", "hypervisor hosts (list, show, enable, disable, delete, enroll-token create)" },
	{ "image", "disk images (list, show, create, upload, download, set, delete)" },
	{ "instance", "virtual machines (create, start, stop, reboot, resize, console...)" },
	{ "server-group", "affinity and anti-affinity groups of instances" },
	{ "keypair", "SSH keys for instances (imported or generated)" },
	{ "volume", "persistent disks (create, attach, detach, extend, delete)" },
	{ "snapshot", "copies of volumes (list, show, create, delete)" },
	{ "storage-pool", "shared storage for volumes (list, show, create, delete)" },
	{ "project", "tenants (list, show, create, set, delete)" },
	{ "member", "users' roles in a project (list, set, remove)" },
	{ "user", "local accounts (list, show, create, set, delete)" },
	{ "token", "personal API tokens (list, create, delete)" },
	{ "access-key", "AWS Signature V4 access keys (list, create, delete)" },
	{ "quota", "a project's limits and usage (show, set)" },
	{ "audit", "the audit trail (list)" },
	{ "job", "asynchronous operations (show)" },
	{ "network", "tenant networks and the external network (list, show, create, delete)" },
	{ "subnet", "a network's IPv4 subnets (list, create, delete)" },
	{ "port", "interfaces on networks, with a MAC and a fixed IP" },
	{ "security-group", "firewall rules of ports (create, rule add, rule delete...)" },
	{ "floating-ip", "external addresses mapped 1:1 to ports (associate, disassociate)" },
	/* Buckets join here when the API has them. */
	{ NULL, NULL },
};

#define ZONE_COLS "name,jurisdiction,description,CPU RATIO=cpu_allocation_ratio," \
		  "RAM RATIO=ram_allocation_ratio,id"
#define HOST_COLS "name,state,enabled,cpus,ram_mb,disk_gb,VCPUS USED=allocation.vcpus_used," \
		  "RAM USED=allocation.ram_mb_used,virt_type,zone_id,id"
#define IMAGE_COLS "name,state,visibility,disk_format,SIZE=size_bytes,sha256,id"
#define INSTANCE_COLS "name,state,vcpus,ram_mb,disk_gb,host,KEY=key_name,IP=addresses.0.ip," \
		      "error,id"

/* The subnet fields of network create and subnet create. */
#define SUBNET_OPTS                                                                             \
	REQ("cidr", "CIDR", "cidr", T_STR, "IPv4 block, /8 to /29, e.g. 10.0.0.0/24"),         \
	OPT("gateway", "IP", "gateway", T_STR, "gateway address (default: the first)"),         \
	SWITCH("no-gateway", "gateway", "null", "no gateway"),                                  \
	OPT("dns", "IP,...", "dns", T_LIST, "DNS servers (at most 4)"),                          \
	OPT("pool-start", "IP", "allocation_pool.start", T_STR, "first address IPAM gives out"), \
	OPT("pool-end", "IP", "allocation_pool.end", T_STR, "last address IPAM gives out")

static const struct cli_param QUOTA_SET[] = {
	ARG_PATH("PROJECT", "the project's id or name"),
	OPT("instances", "N", "instances", T_INT, "instances (-1: unlimited)"),
	OPT("vcpus", "N", "vcpus", T_INT, "vCPUs"),
	OPT("ram-mb", "N", "ram_mb", T_INT, "memory in MiB"),
	OPT("volumes", "N", "volumes", T_INT, "volumes"),
	OPT("volume-gb", "N", "volume_gb", T_INT, "volume GiB"),
	OPT("networks", "N", "networks", T_INT, "networks"),
	OPT("floating-ips", "N", "floating_ips", T_INT, "floating IPs"),
	OPT("buckets", "N", "buckets", T_INT, "buckets"),
	OPT("object-bytes", "N", "object_bytes", T_INT, "object storage bytes"),
	OPT("access-keys", "N", "access_keys", T_INT, "access keys"),
	END,
};

static const struct cli_param ONE_INSTANCE_WAIT[] = {
	ARG_PATH("INSTANCE", "the instance's id or name"), WAIT, END,
};

const struct cli_cmd cli_cmds[] = {
	/* session and profiles */
	{ "login", "", "POST", "/v1/auth/login", NULL, (const struct cli_param[]){
		LOCAL_REQ("username", "NAME", "the user to log in as"),
		LOCAL("project", "PROJECT", "scope the token to this project (id or name)"),
		LOCAL_SWITCH("password-stdin", "read the password as one line of standard input"),
		END }, NULL, act_login, NULL,
	  "log in (--url URL the first time) and store the token in the profile (--profile)",
	  NULL },
	{ "logout", "", "POST", "/v1/auth/logout", NULL, NULL, NULL, act_logout, NULL,
	  "revoke the profile's token and remove it from the profile", NULL },
	{ "whoami", "", "GET", "/v1/auth/whoami", NULL, NULL, NULL, NULL, NULL,
	  "show the user, project and role of the current credentials", NULL },
	{ "version", "", "GET", "/v1/version", NULL, NULL, NULL, NULL, NULL,
	  "show nubod's version and schema version", NULL },
	{ "profile", "list", NULL, NULL, NULL, NULL, NULL, act_profile_list, NULL,
	  "list the profiles (never their tokens)", NULL },
	{ "profile", "use", NULL, NULL, NULL, (const struct cli_param[]){
		ARG_LOCAL("NAME", "name", "the profile"), END }, NULL, act_profile_use, NULL,
	  "make a profile the default", NULL },
	{ "profile", "delete", NULL, NULL, NULL, (const struct cli_param[]){
		ARG_LOCAL("NAME", "name", "the profile"), END }, NULL, act_profile_delete, NULL,
	  "remove a profile and its token (without revoking it: use logout for that)", NULL },

	/* zones */
	{ "zone", "list", "GET", "/v1/zones", NULL, (const struct cli_param[]){
		QUERY("name", "NAME", "only the zone of this name"), PAGE, END },
	  ZONE_COLS, NULL, NULL, "list zones", NULL },
	{ "zone", "show", "GET", "/v1/zones/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ZONE", "the zone's id or name"), END }, NULL, NULL, NULL,
	  "show a zone", NULL },
	{ "zone", "create", "POST", "/v1/zones", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "a DNS label: a-z, 0-9, -"),
		REQ("jurisdiction", "CC", "jurisdiction", T_STR,
		    "ISO 3166-1 alpha-2 country code whose law applies (FR, DE, NO...)"),
		OPT("description", "TEXT", "description", T_STR, "free text, up to 255 characters"),
		END }, NULL, NULL, NULL, "create a zone (system administrators)", NULL },
	{ "zone", "set", "PATCH", "/v1/zones/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ZONE", "the zone's id or name"), OPT("name", "NAME", "name", T_STR, "rename it"),
		OPT("jurisdiction", "CC", "jurisdiction", T_STR, "ISO 3166-1 alpha-2 country code"),
		OPT("description", "TEXT", "description", T_STR, "free text, up to 255 characters"),
		OPT("cpu-allocation-ratio", "X", "cpu_allocation_ratio", T_NUM,
		    "vCPUs placed per host CPU ('default': nubod's setting)"),
		OPT("ram-allocation-ratio", "X", "ram_allocation_ratio", T_NUM,
		    "memory placed per unit of host memory ('default': nubod's setting)"),
		END }, NULL, NULL, NULL, "change a zone", NULL },
	{ "zone", "delete", "DELETE", "/v1/zones/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ZONE", "the zone's id or name"), END }, NULL, NULL, NULL,
	  "delete a zone", NULL },

	/* flavors */
	{ "flavor", "list", "GET", "/v1/flavors", NULL, (const struct cli_param[]){ PAGE, END },
	  "name,vcpus,ram_mb,disk_gb,id", NULL, NULL, "list flavors", NULL },
	{ "flavor", "show", "GET", "/v1/flavors/{}", NULL, (const struct cli_param[]){
		ARG_PATH("FLAVOR", "the flavor's id or name"), END }, NULL, NULL, NULL,
	  "show a flavor", NULL },
	{ "flavor", "create", "POST", "/v1/flavors", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "1-64 of a-z 0-9 . _ -"),
		REQ("vcpus", "N", "vcpus", T_INT, "virtual CPUs, 1-256"),
		REQ("ram-mb", "MB", "ram_mb", T_INT, "memory in MiB, 64-4194304"),
		REQ("disk-gb", "GB", "disk_gb", T_INT, "root disk in GiB, 1-65536"),
		END }, NULL, NULL, NULL, "create a flavor (system administrators)", NULL },
	{ "flavor", "delete", "DELETE", "/v1/flavors/{}", NULL, (const struct cli_param[]){
		ARG_PATH("FLAVOR", "the flavor's id or name"), END }, NULL, NULL, NULL,
	  "delete a flavor", NULL },

	/* hosts (system administrators) */
	{ "host", "list", "GET", "/v1/hosts", NULL, (const struct cli_param[]){ PAGE, END },
	  HOST_COLS, NULL, NULL, "list hosts with their allocation", NULL },
	{ "host", "show", "GET", "/v1/hosts/{}", NULL, (const struct cli_param[]){
		ARG_PATH("HOST", "the host's id or name"), END }, NULL, NULL, NULL,
	  "show a host", NULL },
	{ "host", "enable", "PATCH", "/v1/hosts/{}", "{\"enabled\": true}",
	  (const struct cli_param[]){ ARG_PATH("HOST", "the host's id or name"), END }, NULL,
	  NULL, NULL, "let the scheduler place instances on a host", NULL },
	{ "host", "disable", "PATCH", "/v1/hosts/{}", "{\"enabled\": false}",
	  (const struct cli_param[]){ ARG_PATH("HOST", "the host's id or name"), END }, NULL,
	  NULL, NULL, "stop placing new instances on a host", NULL },
	{ "host", "delete", "DELETE", "/v1/hosts/{}", NULL, (const struct cli_param[]){
		ARG_PATH("HOST", "the host's id or name"), END }, NULL, NULL, NULL,
	  "delete a host", NULL },
	{ "host", "enroll-token create", "POST", "/v1/hosts/enroll-tokens", NULL,
	  (const struct cli_param[]){
		OPT("zone", "ZONE", "zone", T_STR, "the zone the host joins (id or name)"),
		OPT("expires-in", "SECONDS", "expires_in", T_INT, "validity (at least 60)"),
		END }, NULL, NULL, NULL,
	  "make a one-time token for `nubo-agent --enroll-token`", NULL },

	/* images */
	{ "image", "list", "GET", "/v1/images", NULL, (const struct cli_param[]){ PAGE, END },
	  IMAGE_COLS, NULL, NULL, "list the images you can use", NULL },
	{ "image", "show", "GET", "/v1/images/{}", NULL, (const struct cli_param[]){
		ARG_PATH("IMAGE", "the image's id or name"), END }, NULL, NULL, NULL,
	  "show an image", NULL },
	{ "image", "create", "POST", "/v1/images", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "up to 128 characters"),
		OPT("description", "TEXT", "description", T_STR, "free text"),
		OPT("visibility", "V", "visibility", T_STR, "private (default) or public"),
		SWITCH("public", "visibility", "\"public\"", "same as --visibility public"),
		LOCAL("file", "PATH", "upload this file (qcow2, raw, vmdk or vhdx) at once"),
		LOCAL("sha256", "HEX", "have nubod check the upload against this SHA-256"),
		END }, NULL, act_image_create, NULL,
	  "create an image, and with --file upload its bytes", NULL },
	{ "image", "upload", "PUT", "/v1/images/{}/file", NULL, (const struct cli_param[]){
		ARG_PATH("IMAGE", "the image's id or name"),
		ARG_LOCAL("FILE", "file", "the disk image file, streamed"),
		LOCAL("sha256", "HEX", "have nubod check the upload against this SHA-256"),
		END }, NULL, act_image_upload, NULL,
	  "upload an image's bytes (a progress bar on a terminal)", NULL },
	{ "image", "download", "GET", "/v1/images/{}/file", NULL, (const struct cli_param[]){
		ARG_PATH("IMAGE", "the image's id or name"),
		ARG_LOCAL("FILE", "file", "where to write the qcow2"), END }, NULL,
	  act_image_download, NULL, "download an image's stored qcow2", NULL },
	{ "image", "set", "PATCH", "/v1/images/{}", NULL, (const struct cli_param[]){
		ARG_PATH("IMAGE", "the image's id or name"), OPT("name", "NAME", "name", T_STR, "rename it"),
		OPT("description", "TEXT", "description", T_STR, "free text"),
		OPT("visibility", "V", "visibility", T_STR, "private or public"),
		END }, NULL, NULL, NULL, "change an image", NULL },
	{ "image", "delete", "DELETE", "/v1/images/{}", NULL, (const struct cli_param[]){
		ARG_PATH("IMAGE", "the image's id or name"), END }, NULL, NULL, NULL,
	  "delete an image", NULL },

	/* instances */
	{ "instance", "list", "GET", "/v1/instances", NULL, (const struct cli_param[]){ PAGE, END },
	  INSTANCE_COLS, NULL, NULL, "list instances", NULL },
	{ "instance", "show", "GET", "/v1/instances/{}", NULL, (const struct cli_param[]){
		ARG_PATH("INSTANCE", "the instance's id or name"), END }, NULL, NULL, NULL,
	  "show an instance", NULL },
	{ "instance", "create", "POST", "/v1/instances", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the instance's name"),
		REQ("image", "IMAGE", "image", T_STR, "image id or name"),
		REQ("flavor", "FLAVOR", "flavor", T_STR, "flavor id or name"),
		OPT("zone", "ZONE", "zone", T_STR, "zone id or name"),
		OPT("group", "GROUP", "group", T_STR, "server group id or name"),
		OPT("keypair", "KEYPAIR", "keypair", T_STR, "one of your keypairs, id or name"),
		OPT("user-data-file", "PATH", "user_data", T_FILE,
		    "cloud-init user data (at most 64 KiB)"),
		OPT("network", "NETWORK", "network", T_STR,
		    "a network to plug into (default: the project's default network)"),
		OPT("port", "PORT,...", "ports", T_LIST, "use these free ports instead (first = eth0)"),
		OPT("security-group", "GROUP,...", "security_groups", T_LIST,
		    "security groups of its port (default: default)"),
		WAIT, END }, NULL, NULL, NULL, "create an instance", "job" },
	{ "instance", "start", "POST", "/v1/instances/{}/start", NULL, ONE_INSTANCE_WAIT, NULL,
	  NULL, NULL, "start a stopped instance", "job" },
	{ "instance", "stop", "POST", "/v1/instances/{}/stop", NULL, ONE_INSTANCE_WAIT, NULL, NULL,
	  NULL, "stop a running instance (ACPI, then forced)", "job" },
	{ "instance", "reboot", "POST", "/v1/instances/{}/reboot", NULL, ONE_INSTANCE_WAIT, NULL,
	  NULL, NULL, "reboot a running instance (hard)", "job" },
	{ "instance", "resize", "POST", "/v1/instances/{}/resize", NULL, (const struct cli_param[]){
		ARG_PATH("INSTANCE", "the instance's id or name"),
		REQ("flavor", "FLAVOR", "flavor", T_STR, "the new flavor (id or name)"), WAIT, END },
	  NULL, NULL, NULL, "give a stopped instance another flavor", "job" },
	{ "instance", "snapshot", "POST", "/v1/instances/{}/snapshot", NULL,
	  (const struct cli_param[]){ ARG_PATH("INSTANCE", "the instance's id or name"),
		REQ("name", "NAME", "name", T_STR, "the new image's name"),
		SWITCH("public", "visibility", "\"public\"", "publish it (system administrators)"),
		WAIT, END },
	  NULL, NULL, NULL, "make an image of a stopped instance's disk", "job" },
	{ "instance", "migrate", "POST", "/v1/instances/{}/migrate", NULL,
	  (const struct cli_param[]){ ARG_PATH("INSTANCE", "the instance's id"),
		OPT("host", "HOST", "host", T_STR, "the target host (default: the scheduler's)"),
		WAIT, END },
	  NULL, NULL, NULL, "move a stopped instance to another host (administrators)", "job" },
	{ "instance", "delete", "DELETE", "/v1/instances/{}", NULL, ONE_INSTANCE_WAIT, NULL, NULL,
	  NULL, "delete an instance", "job" },
	{ "instance", "console", "GET", "/v1/instances/{}/console", NULL, (const struct cli_param[]){
		ARG_PATH("INSTANCE", "the instance's id or name"),
		LOCAL("tail", "BYTES", "only the last BYTES bytes"),
		LOCAL_SWITCH("follow", "keep printing what comes (Ctrl-C ends)"), END }, NULL,
	  act_console, NULL, "print the serial console", NULL },

	/* server groups */
	{ "server-group", "list", "GET", "/v1/server-groups", NULL, NULL,
	  "name,policy,id", NULL, NULL, "list server groups", NULL },
	{ "server-group", "show", "GET", "/v1/server-groups/{}", NULL, (const struct cli_param[]){
		ARG_PATH("GROUP", "the group's id or name"), END }, NULL, NULL, NULL,
	  "show a server group", NULL },
	{ "server-group", "create", "POST", "/v1/server-groups", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the group's name"),
		REQ("policy", "POLICY", "policy", T_STR, "affinity or anti-affinity"), END },
	  NULL, NULL, NULL, "create a server group", NULL },
	{ "server-group", "delete", "DELETE", "/v1/server-groups/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("GROUP", "the group's id or name"), END }, NULL,
	  NULL, NULL, "delete an empty server group", NULL },

	/* volumes */
	{ "volume", "list", "GET", "/v1/volumes", NULL, (const struct cli_param[]){ PAGE, END },
	  "name,size_gb,state,pool,instance_id,device,id", NULL, NULL, "list volumes", NULL },
	{ "volume", "show", "GET", "/v1/volumes/{}", NULL, (const struct cli_param[]){
		ARG_PATH("VOLUME", "the volume's id or name"), END }, NULL, NULL, NULL,
	  "show a volume", NULL },
	{ "volume", "create", "POST", "/v1/volumes", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the volume's name"),
		REQ("size-gb", "GB", "size_gb", T_INT, "its size in GB"),
		OPT("image", "IMAGE", "image", T_STR, "copy this image (id or name) into it"),
		OPT("snapshot", "SNAPSHOT", "snapshot", T_STR, "copy this snapshot into it"),
		OPT("pool", "POOL", "pool", T_STR, "keep it in this shared storage pool"),
		END }, NULL, NULL, NULL, "create a volume, blank, from an image or a snapshot", NULL },
	{ "volume", "attach", "POST", "/v1/volumes/{}/attach", NULL, (const struct cli_param[]){
		ARG_PATH("VOLUME", "the volume's id or name"),
		ARG_BODY("INSTANCE", "instance", "the instance's id or name"), WAIT, END },
	  NULL, NULL, NULL, "attach a volume to a running or stopped instance", "job" },
	{ "volume", "detach", "POST", "/v1/volumes/{}/detach", NULL, (const struct cli_param[]){
		ARG_PATH("VOLUME", "the volume's id or name"),
		OPT("instance", "INSTANCE", "instance", T_STR, "only if attached to this instance"),
		WAIT, END }, NULL, NULL, NULL, "detach a volume", "job" },
	{ "volume", "extend", "POST", "/v1/volumes/{}/extend", NULL, (const struct cli_param[]){
		ARG_PATH("VOLUME", "the volume's id or name"),
		REQ("size-gb", "GB", "size_gb", T_INT, "the new, larger size in GB"), WAIT, END },
	  NULL, NULL, NULL, "grow a volume", "job" },
	{ "volume", "delete", "DELETE", "/v1/volumes/{}", NULL, (const struct cli_param[]){
		ARG_PATH("VOLUME", "the volume's id or name"), WAIT, END }, NULL, NULL, NULL,
	  "delete a volume that is not attached", "job" },

	/* snapshots */
	{ "snapshot", "list", "GET", "/v1/snapshots", NULL, NULL,
	  "name,volume_id,size_gb,state,id", NULL, NULL, "list snapshots", NULL },
	{ "snapshot", "show", "GET", "/v1/snapshots/{}", NULL, (const struct cli_param[]){
		ARG_PATH("SNAPSHOT", "the snapshot's id or name"), END }, NULL, NULL, NULL,
	  "show a snapshot", NULL },
	{ "snapshot", "create", "POST", "/v1/snapshots", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the snapshot's name"),
		REQ("volume", "VOLUME", "volume", T_STR, "the volume (id or name)"), WAIT, END },
	  NULL, NULL, NULL, "take a snapshot of a volume", "job" },
	{ "snapshot", "delete", "DELETE", "/v1/snapshots/{}", NULL, (const struct cli_param[]){
		ARG_PATH("SNAPSHOT", "the snapshot's id or name"), WAIT, END }, NULL, NULL, NULL,
	  "delete a snapshot", "job" },

	/* networks */
	{ "network", "list", "GET", "/v1/networks", NULL, (const struct cli_param[]){ PAGE, END },
	  "name,cidr,gateway,external,id", NULL, NULL,
	  "list your project's networks and the external one", NULL },
	{ "network", "show", "GET", "/v1/networks/{}", NULL, (const struct cli_param[]){
		ARG_PATH("NETWORK", "the network's id or name"), END }, NULL, NULL, NULL,
	  "show a network with its subnets", NULL },
	{ "network", "create", "POST", "/v1/networks", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the network's name"), SUBNET_OPTS,
		SWITCH("external", "external", "true",
		       "the external network, of floating IPs (system administrators)"),
		END }, NULL, NULL, NULL, "create a network with its first subnet", NULL },
	{ "network", "delete", "DELETE", "/v1/networks/{}", NULL, (const struct cli_param[]){
		ARG_PATH("NETWORK", "the network's id or name"), END }, NULL, NULL, NULL,
	  "delete a network without ports", NULL },
	{ "subnet", "list", "GET", "/v1/networks/{}/subnets", NULL, (const struct cli_param[]){
		ARG_PATH("NETWORK", "the network's id or name"), END },
	  "name,cidr,gateway,POOL START=allocation_pool.start,POOL END=allocation_pool.end,id",
	  NULL, NULL, "list a network's subnets", NULL },
	{ "subnet", "create", "POST", "/v1/networks/{}/subnets", NULL, (const struct cli_param[]){
		ARG_PATH("NETWORK", "the network's id or name"),
		ARG_BODY("NAME", "name", "the subnet's name"), SUBNET_OPTS, END }, NULL, NULL, NULL,
	  "add a subnet to a network", NULL },
	{ "subnet", "delete", "DELETE", "/v1/networks/{}/subnets/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("NETWORK", "the network's id or name"),
		ARG_PATH("SUBNET", "the subnet's id or name"), END }, NULL, NULL, NULL,
	  "delete a subnet whose addresses are unused", NULL },

	/* ports */
	{ "port", "list", "GET", "/v1/ports", NULL, (const struct cli_param[]){
		QUERY("network", "NETWORK", "only the ports of this network"),
		QUERY("instance", "INSTANCE", "only the ports of this instance"), PAGE, END },
	  "name,IP=fixed_ips.0.ip,mac,INSTANCE=instance_id,status,network_id,id", NULL, NULL,
	  "list ports", NULL },
	{ "port", "show", "GET", "/v1/ports/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PORT", "the port's id or name"), END }, NULL, NULL, NULL,
	  "show a port", NULL },
	{ "port", "create", "POST", "/v1/ports", NULL, (const struct cli_param[]){
		REQ("network", "NETWORK", "network", T_STR, "the network (id or name)"),
		OPT("name", "NAME", "name", T_STR, "a name, unique in the project"),
		OPT("ip", "IP", "ip", T_STR, "this address (default: the lowest free one)"),
		OPT("security-group", "GROUP,...", "security_groups", T_LIST,
		    "its security groups (default: default)"),
		END }, NULL, NULL, NULL, "create a port", NULL },
	{ "port", "set", "PATCH", "/v1/ports/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PORT", "the port's id or name"), OPT("name", "NAME", "name", T_STR, "rename it"),
		OPT("security-group", "GROUP,...", "security_groups", T_LIST,
		    "replace its security groups"),
		END }, NULL, NULL, NULL, "rename a port or replace its security groups", NULL },
	{ "port", "delete", "DELETE", "/v1/ports/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PORT", "the port's id or name"), END }, NULL, NULL, NULL,
	  "delete a port no instance uses", NULL },

	/* security groups */
	{ "security-group", "list", "GET", "/v1/security-groups", NULL,
	  (const struct cli_param[]){ PAGE, END }, "name,description,id", NULL, NULL,
	  "list security groups", NULL },
	{ "security-group", "show", "GET", "/v1/security-groups/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("GROUP", "the group's id or name"), END }, NULL,
	  NULL, NULL, "show a security group with its rules", NULL },
	{ "security-group", "create", "POST", "/v1/security-groups", NULL,
	  (const struct cli_param[]){ ARG_BODY("NAME", "name", "the group's name"),
		OPT("description", "TEXT", "description", T_STR, "free text"), END }, NULL, NULL,
	  NULL, "create a security group (no rules: nothing allowed in)", NULL },
	{ "security-group", "delete", "DELETE", "/v1/security-groups/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("GROUP", "the group's id or name"), END }, NULL,
	  NULL, NULL, "delete a security group no port uses", NULL },
	{ "security-group", "rule add", "POST", "/v1/security-groups/{}/rules", NULL,
	  (const struct cli_param[]){ ARG_PATH("GROUP", "the group's id or name"),
		REQ("direction", "DIR", "direction", T_STR, "ingress or egress"),
		OPT("protocol", "PROTO", "protocol", T_STR, "tcp, udp, icmp or any (default)"),
		OPT("port-min", "N", "port_min", T_INT, "first port (tcp, udp)"),
		OPT("port-max", "N", "port_max", T_INT, "last port (default: port-min)"),
		OPT("cidr", "CIDR", "cidr", T_STR, "from (ingress) or to (egress) this block"),
		OPT("remote-group", "GROUP", "remote_group", T_STR,
		    "from or to the members of this group"),
		END }, NULL, NULL, NULL, "allow some traffic", NULL },
	{ "security-group", "rule delete", "DELETE", "/v1/security-groups/{}/rules/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("GROUP", "the group's id or name"),
		ARG_PATH("RULE", "the rule's id"), END }, NULL, NULL, NULL, "delete a rule", NULL },

	/* floating IPs */
	{ "floating-ip", "list", "GET", "/v1/floating-ips", NULL,
	  (const struct cli_param[]){ PAGE, END },
	  "ip,FIXED IP=fixed_ip,INSTANCE=instance_id,PORT=port_id,id", NULL, NULL,
	  "list floating IPs", NULL },
	{ "floating-ip", "show", "GET", "/v1/floating-ips/{}", NULL, (const struct cli_param[]){
		ARG_PATH("FIP", "the floating IP's id or address"), END }, NULL, NULL, NULL,
	  "show a floating IP", NULL },
	{ "floating-ip", "create", "POST", "/v1/floating-ips", NULL, (const struct cli_param[]){
		OPT("network", "NETWORK", "network", T_STR, "the external network (the default)"),
		END }, NULL, NULL, NULL, "take a floating IP from the external network", NULL },
	{ "floating-ip", "associate", "POST", "/v1/floating-ips/{}/associate", NULL,
	  (const struct cli_param[]){ ARG_PATH("FIP", "the floating IP's id or address"),
		OPT("instance", "INSTANCE", "instance", T_STR, "map it to this instance's first port"),
		OPT("port", "PORT", "port", T_STR, "map it to this port"), END }, NULL, NULL, NULL,
	  "map a floating IP 1:1 to an instance or a port", NULL },
	{ "floating-ip", "disassociate", "POST", "/v1/floating-ips/{}/disassociate", NULL,
	  (const struct cli_param[]){ ARG_PATH("FIP", "the floating IP's id or address"), END },
	  NULL, NULL, NULL, "undo a floating IP's association", NULL },
	{ "floating-ip", "delete", "DELETE", "/v1/floating-ips/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("FIP", "the floating IP's id or address"), END },
	  NULL, NULL, NULL, "give a floating IP back", NULL },

	/* storage pools */
	{ "storage-pool", "list", "GET", "/v1/storage-pools", NULL,
	  (const struct cli_param[]){ PAGE, END }, "name,driver,description,id", NULL, NULL,
	  "list storage pools", NULL },
	{ "storage-pool", "show", "GET", "/v1/storage-pools/{}", NULL, (const struct cli_param[]){
		ARG_PATH("POOL", "the pool's id or name"), END }, NULL, NULL, NULL,
	  "show a storage pool", NULL },
	{ "storage-pool", "create", "POST", "/v1/storage-pools", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the pool's name, as the agents' --storage-pools name it"),
		OPT("driver", "DRIVER", "driver", T_STR, "dir (default): a directory the hosts mount"),
		OPT("description", "TEXT", "description", T_STR, "what it is"), END },
	  NULL, NULL, NULL, "define a shared storage pool (system administrators)", NULL },
	{ "storage-pool", "delete", "DELETE", "/v1/storage-pools/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("POOL", "the pool's id or name"), END }, NULL, NULL,
	  NULL, "delete an empty storage pool", NULL },

	/* keypairs */
	{ "keypair", "list", "GET", "/v1/keypairs", NULL, NULL, "name,type,fingerprint,id", NULL,
	  NULL, "list your keypairs", NULL },
	{ "keypair", "show", "GET", "/v1/keypairs/{}", NULL, (const struct cli_param[]){
		ARG_PATH("KEYPAIR", "the keypair's id or name"), END }, NULL, NULL, NULL,
	  "show a keypair", NULL },
	{ "keypair", "create", "POST", "/v1/keypairs", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the keypair's name"),
		OPT("public-key-file", "PATH", "public_key", T_FILE,
		    "import this OpenSSH public key (else nubod generates an Ed25519 key)"),
		LOCAL("private-key-file", "PATH",
		      "write the generated private key here (mode 0600); else print it"),
		END }, NULL, act_keypair_create, NULL, "import or generate a keypair", NULL },
	{ "keypair", "delete", "DELETE", "/v1/keypairs/{}", NULL, (const struct cli_param[]){
		ARG_PATH("KEYPAIR", "the keypair's id or name"), END }, NULL, NULL, NULL,
	  "delete a keypair", NULL },

	/* projects and members */
	{ "project", "list", "GET", "/v1/projects", NULL, (const struct cli_param[]){ PAGE, END },
	  "name,description,id", NULL, NULL, "list the projects you can see", NULL },
	{ "project", "show", "GET", "/v1/projects/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"), END }, NULL, NULL, NULL,
	  "show a project", NULL },
	{ "project", "create", "POST", "/v1/projects", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the project's name"),
		OPT("description", "TEXT", "description", T_STR, "free text"), END }, NULL, NULL,
	  NULL, "create a project (system administrators)", NULL },
	{ "project", "set", "PATCH", "/v1/projects/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"),
		OPT("name", "NAME", "name", T_STR, "rename it"),
		OPT("description", "TEXT", "description", T_STR, "free text"), END }, NULL, NULL,
	  NULL, "change a project", NULL },
	{ "project", "delete", "DELETE", "/v1/projects/{}", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"), END }, NULL, NULL, NULL,
	  "delete a project", NULL },
	{ "member", "list", "GET", "/v1/projects/{}/members", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"), END },
	  "USER=user_name,role,USER ID=user_id,created_at", NULL, NULL,
	  "list a project's members", NULL },
	{ "member", "set", "POST", "/v1/projects/{}/members", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"),
		ARG_BODY("USER", "user", "the user's id or name"),
		ARG_BODY("ROLE", "role", "reader, member or admin"), END }, NULL, NULL, NULL,
	  "give a user a role in a project (replacing their role)", NULL },
	{ "member", "remove", "DELETE", "/v1/projects/{}/members/{}", NULL,
	  (const struct cli_param[]){ ARG_PATH("PROJECT", "the project's id or name"),
		ARG_PATH("USER", "the user's id or name"), END }, NULL, NULL, NULL,
	  "take a user's role in a project away", NULL },

	/* users */
	{ "user", "list", "GET", "/v1/users", NULL, (const struct cli_param[]){ PAGE, END },
	  "name,email,system_admin,disabled,id", NULL, NULL, "list users (system administrators)",
	  NULL },
	{ "user", "show", "GET", "/v1/users/{}", NULL, (const struct cli_param[]){
		ARG_PATH("USER", "the user's id or name"), END }, NULL, NULL, NULL,
	  "show a user", NULL },
	{ "user", "create", "POST", "/v1/users", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "the user's name"),
		{ "password-stdin", NULL, "password", IN_BODY, T_SECRET, P_REQUIRED, NULL,
		  "read the password (12 characters or more) as one line of standard input" },
		OPT("email", "EMAIL", "email", T_STR, "e-mail address"),
		SWITCH("system-admin", "system_admin", "true", "make a system administrator"),
		END }, NULL, NULL, NULL, "create a user (system administrators)", NULL },
	{ "user", "set", "PATCH", "/v1/users/{}", NULL, (const struct cli_param[]){
		ARG_PATH("USER", "the user's id or name"), OPT("name", "NAME", "name", T_STR, "rename"),
		OPT("email", "EMAIL", "email", T_STR, "e-mail address"),
		{ "password-stdin", NULL, "password", IN_BODY, T_SECRET, 0, NULL,
		  "read a new password as one line of standard input" },
		{ "current-password-stdin", NULL, "current_password", IN_BODY, T_SECRET, 0, NULL,
		  "read your current password as one line of standard input (needed to change "
		  "your own; with --password-stdin, lines are read in the order of the flags)" },
		OPT("system-admin", "BOOL", "system_admin", T_BOOL, "true or false"),
		SWITCH("disable", "disabled", "true", "disable the user (revokes their tokens)"),
		SWITCH("enable", "disabled", "false", "enable the user again"),
		END }, NULL, NULL, NULL, "change a user", NULL },
	{ "user", "delete", "DELETE", "/v1/users/{}", NULL, (const struct cli_param[]){
		ARG_PATH("USER", "the user's id or name"), END }, NULL, NULL, NULL,
	  "delete a user", NULL },

	/* credentials */
	{ "token", "list", "GET", "/v1/auth/tokens", NULL, NULL,
	  "name,kind,PROJECT=project_id,created_at,expires_at,id", NULL, NULL,
	  "list your tokens (never their secrets)", NULL },
	{ "token", "create", "POST", "/v1/auth/tokens", NULL, (const struct cli_param[]){
		ARG_BODY("NAME", "name", "what the token is for"),
		OPT("project", "PROJECT", "project", T_STR, "scope it to a project"),
		OPT("expires-in", "SECONDS", "expires_in", T_INT, "validity (default 90 days)"),
		END }, NULL, NULL, NULL, "create a personal API token (its secret is shown once)",
	  NULL },
	{ "token", "delete", "DELETE", "/v1/auth/tokens/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ID", "the token's id"), END }, NULL, NULL, NULL, "revoke a token", NULL },
	{ "access-key", "list", "GET", "/v1/access-keys", NULL, NULL,
	  "ACCESS KEY ID=access_key_id,USER=user_name,PROJECT=project_id,created_at", NULL, NULL,
	  "list access keys", NULL },
	{ "access-key", "create", "POST", "/v1/access-keys", NULL, (const struct cli_param[]){
		OPT("project", "PROJECT", "project", T_STR, "scope it to a project"), END }, NULL,
	  NULL, NULL, "create an access key (its secret is shown once)", NULL },
	{ "access-key", "delete", "DELETE", "/v1/access-keys/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ID", "the access key id"), END }, NULL, NULL, NULL,
	  "delete an access key", NULL },

	/* quotas, audit, jobs */
	{ "quota", "show", "GET", "/v1/projects/{}/quotas", NULL, (const struct cli_param[]){
		ARG_PATH("PROJECT", "the project's id or name"), END }, NULL, NULL, show_quotas,
	  "show a project's quota limits and usage", NULL },
	{ "quota", "set", "PATCH", "/v1/projects/{}/quotas", NULL, QUOTA_SET, NULL, NULL,
	  show_quotas, "set quota limits (system administrators)", NULL },
	{ "audit", "list", "GET", "/v1/audit", NULL, (const struct cli_param[]){
		QUERY("since", "TIME", "events at or after this RFC 3339 time"),
		QUERY("until", "TIME", "events before this RFC 3339 time"),
		QUERY("user", "USER", "by this user (id or name)"),
		QUERY("action", "ACTION", "this action, e.g. zone.create"),
		QUERY("resource", "ID", "about this resource id"),
		QUERY("project", "PROJECT", "in this project"), PAGE, END },
	  "time,USER=user.name,action,TYPE=resource.type,RESOURCE=resource.id,outcome,status,"
	  "request_id",
	  NULL, NULL, "list audit events, newest first", NULL },
	{ "job", "show", "GET", "/v1/jobs/{}", NULL, (const struct cli_param[]){
		ARG_PATH("ID", "the job's id"), END }, NULL, NULL, NULL, "show a job", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};
