/* objects-priv.h: what the objects module's files share. Not for other
 * modules. */
#pragma once

#include "objects.h"

/* End the transaction a function began: commit when r is 0, else roll
 * back. Returns r, or the commit's failure (with err set). */
int objects_txn_end(struct store_conn *c, int r, struct err *err);
