/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * maglev.h - weighted Maglev lookup table generation (Maglev, NSDI 2016,
 * section 3.4).  docs/maglev.md describes the algorithm, the hash seeds and
 * what makes a table the same on every host.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* Fixed seeds of the two key hashes ("xlb-offs", "xlb-skip" in ASCII).
 * Changing either changes every table: hosts behind one ECMP group would
 * then disagree during a rolling upgrade. */
#define MAGLEV_SEED_OFFSET 0x786c622d6f666673ull
#define MAGLEV_SEED_SKIP 0x786c622d736b6970ull

struct maglev_backend {
	uint8_t key[16];   /* the backend identity hashed for offset/skip: address bytes, zero padded */
	uint32_t weight;   /* 0 = no slots */
	uint32_t id;       /* value written into the table for this backend */
};

/* Fill table[0..m-1] with ids; m prime. Backends are ordered by key internally so the
 * result does not depend on input order (deterministic across hosts/restarts: fixed seeds).
 * With no backend of weight > 0, every entry is empty_id. 0 or -errno (-EINVAL: m not prime / m < number of weighted backends; -ENOMEM). */
int maglev_build(const struct maglev_backend *be, size_t n, uint32_t m, uint32_t empty_id, uint32_t *table);

/* 1 if m is prime, else 0 (for config validation of table sizes). */
int maglev_is_prime(uint32_t m);

/* The 64-bit key hash behind a backend's offset (seed MAGLEV_SEED_OFFSET)
 * and skip (seed MAGLEV_SEED_SKIP); the key's bytes are read in a fixed
 * order, so the result does not depend on the host's byte order. */
uint64_t maglev_hash(const uint8_t key[16], uint64_t seed);

#endif /* XLB_MAGLEV_H */
