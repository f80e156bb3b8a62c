/* fuzz_netstate: the networking part of a host's desired state as the
 * agent takes it from nubod (net_state_parse), and what it renders from it
 * (the nftables script, dnsmasq's configuration and static leases), which
 * reach nft and dnsmasq as they are.
 *
 * Input that parses must render text made only of the characters the
 * renderers write themselves plus those of checked values (hex, digits,
 * dots, colons, slashes): nothing of the input can start a statement or a
 * line of its own. A refusal comes with a reason. */
#include <jansson.h>
#include <stdbool.h>

#include "agent/agent-priv.h"
#include "fuzz.h"

#define TEXT_MAX (256 * 1024)

/* The characters the renderers may produce. */
static bool allowed(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr(" \t\n.,:/{}\"_&|*!=;#+-", c) != NULL;
}

static void check_text(const struct buf *b)
{
	for (size_t k = 0; k < b->len; k++)
		CHECK(allowed(b->data[k]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > TEXT_MAX)
		return 0;
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256] = "";
	int r = net_state_parse(j, ar, &st, why, sizeof(why));
	if (r < 0) {
		CHECK(r == -1 && why[0]);
	} else {
		struct buf b;
		buf_init(&b, 0);
		net_ruleset(&st, NULL, &b);
		check_text(&b);
		buf_reset(&b);
		net_ruleset(&st, "ext0", &b);
		check_text(&b);
		for (size_t k = 0; k < st.nnets; k++) {
			buf_reset(&b);
			net_dnsmasq_conf(&st.nets[k], "/d", &b);
			net_dnsmasq_hosts(&st.nets[k], &b);
			check_text(&b);
		}
		buf_release(&b);
	}
	arena_free(ar);
	json_decref(j);
	return 0;
}
