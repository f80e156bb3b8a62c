/* fuzz_bucket_policy: bucket_policy_check, the parser of the JSON policy
 * documents PutBucketPolicy takes, and bucket_policy_allows_read, which
 * reads a stored one on every anonymous GET.
 *
 * Input: up to the first newline a key, then the policy. Contracts: a
 * policy the check refuses allows nothing; one it accepts gives the same
 * answer twice, and never allows a key of another bucket's resources
 * (the check pins every resource to the bucket it is given). */
#include <stdbool.h>

#include "fuzz.h"
#include "lib/err.h"
#include "objects/objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_strndup(data, size);
	char *nl = strchr(all, '\n');
	const char *key = "public/app.js", *doc = all;
	if (nl) {
		*nl = '\0';
		key = all;
		doc = nl + 1;
	}
	struct err err = { 0 };
	int r = bucket_policy_check(doc, strlen(doc), "assets", &err);
	CHECK(r == 0 || r == -ERR_INVALID);
	bool allowed = bucket_policy_allows_read(doc, "assets", key);
	if (r < 0) {
		CHECK(!allowed);
		CHECK(err.message[0]);
	} else {
		CHECK(bucket_policy_allows_read(doc, "assets", key) == allowed);
		CHECK(!bucket_policy_allows_read(doc, "other", key) ||
		      bucket_policy_check(doc, strlen(doc), "other", NULL) == 0);
	}
	free(all);
	return 0;
}
