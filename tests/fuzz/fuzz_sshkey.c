/* fuzz_sshkey: the OpenSSH public key parser behind POST /v1/keypairs.
 *
 * Any bytes must either be refused with -ERR_INVALID naming the field
 * "public_key" and leaving no canonical line, or be taken: then the type
 * is one of the five allowed, the fingerprint has ssh-keygen's form, and
 * the canonical line parses again to the very same key and line. */
#include <string.h>

#include "fuzz.h"
#include "lib/sshkey.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey_info info;
	struct err err = { 0 };
	char *canon = NULL;
	int r = sshkey_parse((const char *)data, size, &info, &canon, &err);
	if (r < 0) {
		CHECK(r == -ERR_INVALID);
		CHECK(canon == NULL);
		CHECK(strcmp(err.field, "public_key") == 0 && err.message[0]);
		return 0;
	}
	CHECK(r == 0 && canon != NULL);
	CHECK(strcmp(info.type, "ssh-ed25519") == 0 || strcmp(info.type, "ssh-rsa") == 0 ||
	      strncmp(info.type, "ecdsa-sha2-nistp", 16) == 0);
	CHECK(strncmp(info.fingerprint, "SHA256:", 7) == 0 && strlen(info.fingerprint) == 50);
	CHECK(info.bits >= 256);
	struct sshkey_info again;
	char *canon2 = NULL;
	CHECK(sshkey_parse(canon, strlen(canon), &again, &canon2, &err) == 0);
	CHECK(strcmp(canon, canon2) == 0);
	CHECK(memcmp(&info, &again, sizeof(info)) == 0);
	free(canon);
	free(canon2);
	return 0;
}
