/* fuzz_config: config_load_text, the INI parser behind nubod's --config
 * file, over a small option table with every config_type (and a flag-only
 * option, which no INI line may reach).
 *
 * Defaults are set first, as nubod does. After a load, successful or not,
 * every number lies within its option's bounds, every string is a string
 * (freed by config_release, so LSan sees any it loses), and a failure comes
 * with an error code and message. */
#include <stdbool.h>
#include <stddef.h>

#include "fuzz.h"
#include "lib/config.h"

/* nubod reads config files up to 1 MiB; parsing is linear, so less will do. */
#define TEXT_MAX (64 * 1024)

struct cfg {
	char *config;       /* flag-only */
	char *listen;       /* string with a default */
	char *store_url;    /* string without a default */
	uint64_t threads;   /* uint in [1, 256] */
	uint64_t body;      /* size in [1024, 1 GiB] */
	uint64_t drain;     /* uint in [0, 60] */
	bool debug;         /* bool */
	bool metrics;       /* bool, default true */
};

#define OPT(sec, key, flag, type, field, def, min, max) \
	{ sec, key, flag, type, offsetof(struct cfg, field), def, min, max, "fuzz" }

static const struct config_opt opts[] = {
	OPT(NULL, NULL, "config", CONFIG_STRING, config, NULL, 0, 0),
	OPT("server", "listen", "listen", CONFIG_STRING, listen, "127.0.0.1:8080", 0, 0),
	OPT("store", "url", "store", CONFIG_STRING, store_url, NULL, 0, 0),
	OPT("server", "threads", "threads", CONFIG_UINT, threads, "4", 1, 256),
	OPT("server", "body_limit", "body-limit", CONFIG_SIZE, body, "1M", 1024,
	    1024ULL * 1024 * 1024),
	OPT("server", "drain_timeout", "drain-timeout", CONFIG_UINT, drain, "8", 0, 60),
	OPT("log", "debug", "debug", CONFIG_BOOL, debug, "false", 0, 0),
	OPT("log", "metrics", "metrics", CONFIG_BOOL, metrics, "yes", 0, 0),
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void check_cfg(const struct cfg *c)
{
	CHECK(c->config == NULL); /* flag-only: no INI line sets it */
	CHECK(c->listen != NULL && strlen(c->listen) < TEXT_MAX);
	CHECK(c->store_url == NULL || strlen(c->store_url) < TEXT_MAX);
	CHECK(c->threads >= 1 && c->threads <= 256);
	CHECK(c->body >= 1024 && c->body <= 1024ULL * 1024 * 1024);
	CHECK(c->drain <= 60);
	/* a bool must hold 0 or 1; read its byte so that UBSan cannot object */
	unsigned char b[2];
	memcpy(&b[0], &c->debug, 1);
	memcpy(&b[1], &c->metrics, 1);
	CHECK(b[0] <= 1 && b[1] <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > TEXT_MAX)
		return 0;
	char *text = fuzz_strndup(data, size);
	struct cfg c = { 0 };
	struct err err = { 0 };
	CHECK(config_defaults(opts, NOPTS, &c, &err) == 0);
	check_cfg(&c);
	int r = config_load_text(opts, NOPTS, &c, text, "fuzz.ini", &err);
	if (r < 0) {
		CHECK(r == -ERR_INVALID && err.code == ERR_INVALID);
		CHECK(err.message[0] != '\0');
		CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
	} else {
		CHECK(r == 0 && err.code == ERR_NONE);
	}
	check_cfg(&c);
	config_release(opts, NOPTS, &c);
	CHECK(c.listen == NULL && c.store_url == NULL && c.config == NULL);
	free(text);
	return 0;
}
