/* checksum-priv.h: what checksum.c shares with its unit tests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CRC32C of n bytes continuing from crc (0 to start), always by the tables,
 * so that tests can hold the SSE4.2 path against it. */
uint64_t checksum_crc32c_sw(uint64_t crc, const void *data, size_t n);
/* The same for CRC64NVME (tables, never PCLMULQDQ). */
uint64_t checksum_crc64nvme_sw(uint64_t crc, const void *data, size_t n);
