/* sshkey: OpenSSH public keys as users paste them ("type base64 comment"),
 * checked strictly: the key types ssh-ed25519, ecdsa-sha2-nistp256/384/521
 * (the point must lie on the curve) and ssh-rsa of 2048 to 16384 bits;
 * and new Ed25519 key pairs with the private key in OpenSSH's own format
 * (what ssh-keygen writes, without a passphrase). */
#pragma once

#include <stddef.h>

#include "err.h"

#define SSHKEY_LINE_MAX 16384           /* longest public key line taken */
#define SSHKEY_FINGERPRINT_SIZE 52      /* "SHA256:" + 43 base64 + NUL */

struct sshkey_info {
	char type[24];                       /* "ssh-ed25519", "ssh-rsa"... */
	unsigned bits;                       /* key size */
	char fingerprint[SSHKEY_FINGERPRINT_SIZE]; /* as ssh-keygen -l prints it */
};

/* Check one public key line of len bytes (surrounding white space is
 * ignored; the comment may be absent). Fills info and, when ret_canonical is
 * given, a new string "type base64[ comment]" (caller frees). Returns 0 or
 * -ERR_INVALID with a message that says what is wrong. */
int sshkey_parse(const char *line, size_t len, struct sshkey_info *info, char **ret_canonical,
		 struct err *err);
/* Make a new Ed25519 key pair: *ret_public is its public key line with
 * comment, *ret_private the private key file (both caller frees; wipe the
 * private one with explicit_bzero first). Returns 0 or -1. */
int sshkey_generate_ed25519(const char *comment, char **ret_public, char **ret_private);
