// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * maglev.c - weighted Maglev lookup table generation.
 *
 * Maglev (NSDI 2016, section 3.4): every backend has a permutation of the
 * table's slots, slot(j) = (offset + j * skip) mod m, with offset and skip
 * taken from two differently seeded hashes of its key.  Backends take
 * turns; on its turn a backend claims the first slot of its permutation
 * that is still empty.  m is prime, so every skip in 1..m-1 walks all
 * slots.
 *
 * Weights adjust how often a backend gets a turn.  Time is counted in
 * rounds; a backend of weight w gets its k-th turn in round
 * ceil(k * wmax / w), so a backend of the largest weight plays every round
 * and the others in proportion.  Within a round turns go in the order the
 * backends became due (for equal weights: by key, as in the paper).  Slot
 * counts are then proportional to the weights within about one slot.
 *
 * Cost: claiming slots probes about m * ln(m) positions in total, whatever
 * the number of backends, so the probe loop is what matters:
 *  - each backend keeps a cursor (the next position of its permutation);
 *    advancing it is an add and a conditional subtract, never a modulo;
 *  - which slots are taken is a bitmap (8 KiB for m = 65537: it stays in
 *    L1 while the table itself is only written);
 *  - turns of unequal weights come from a calendar of rounds (a ring of
 *    FIFO buckets), so a round costs only the backends due in it, and the
 *    next due round is kept as a running quotient and remainder instead of
 *    a division per turn;
 *  - the last slots: once few are left, walking a permutation to find one
 *    costs about m / (empty slots) probes, so the turn instead computes
 *    where each empty slot lies in the backend's permutation,
 *    j = (slot - offset) * skip^-1 mod m, and takes the one with the
 *    smallest j: the very slot the walk would have found.
 *
 * Determinism: backends with weight 0 are left out, the others are sorted
 * by key (then id, then weight), the hashes read the key bytes in a fixed
 * order with fixed seeds, and all arithmetic is integer.  The same set of
 * backends therefore gives the same table on every host, in any input
 * order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maglev.h"

#define MAGLEV_NONE UINT32_MAX

/* Switch to the direct search when this many empty slots are left: a walk
 * costs about m / e probes, a search e modular products. */
#define MAGLEV_ENDGAME_MAX 256u

struct maglev_item {
	uint64_t hi, lo;	/* the key as two big-endian words: memcmp order */
	uint32_t weight;
	uint32_t id;
	uint32_t offset;
	uint32_t skip;
};

/* One backend while the table fills: what every turn reads, kept small so
 * that a thousand cursors and the bitmap stay in L1. */
struct maglev_cursor {
	uint32_t pos;		/* next candidate slot of its permutation */
	uint32_t skip[4];	/* k * skip mod m, k = 1..4: a batch of probes */
	uint32_t id;
};

/* The rest of a backend's state: turns of unequal weights and the direct
 * search of the last slots. */
struct maglev_sched {
	uint32_t next;		/* next backend in the same calendar bucket */
	uint32_t weight;
	uint32_t step;		/* wmax / weight */
	uint32_t step_rem;	/* wmax % weight */
	uint64_t due_q;		/* turn * wmax = due_q * weight + due_r */
	uint64_t due_r;
	uint32_t offset;
	uint32_t inv;		/* skip^-1 mod m, 0 until needed */
};

struct maglev_state {
	uint32_t m;
	uint32_t walk4_at;	/* slots filled when probing goes four at once */
	uint32_t direct_at;	/* slots filled when the direct search starts */
	uint64_t *bitmap;	/* slots taken */
	uint32_t *table;
	uint32_t *empty;	/* the empty slots, once few are left */
	uint32_t *empty_buf;	/* room for MAGLEV_ENDGAME_MAX of them */
	uint32_t nempty;
	uint64_t barrett;	/* floor(2^64 / m), for products mod m */
};

int maglev_is_prime(uint32_t m)
{
	uint64_t d;

	if (m < 2)
		return 0;
	if (m < 4)
		return 1;
	if (!(m & 1))
		return 0;
	for (d = 3; d * d <= m; d += 2)
		if (m % d == 0)
			return 0;
	return 1;
}

static inline uint64_t maglev_rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Avalanche step: every input bit flips about half of the output bits. */
static inline uint64_t maglev_mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static inline uint64_t maglev_load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t maglev_load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

uint64_t maglev_hash(const uint8_t key[16], uint64_t seed)
{
	uint64_t a = maglev_load_le64(key);
	uint64_t b = maglev_load_le64(key + 8);
	uint64_t h;

	h = maglev_mix(seed ^ (a * 0x9e3779b97f4a7c15ull));
	h = maglev_mix(h ^ maglev_rotl64(b * 0xc2b2ae3d27d4eb4full, 31));
	return maglev_mix(h + 16);
}

/* a < b in the canonical order: key, then id, then weight. */
static inline int maglev_item_less(const struct maglev_item *a,
				   const struct maglev_item *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi;
	if (a->lo != b->lo)
		return a->lo < b->lo;
	if (a->id != b->id)
		return a->id < b->id;
	return a->weight < b->weight;
}

/* Stable bottom-up merge sort (insertion-sorted runs of 16); the result is
 * left in v.  tmp has room for n items. */
static void maglev_sort(struct maglev_item *v, struct maglev_item *tmp,
			size_t n)
{
	struct maglev_item *src = v, *dst = tmp, *swap, x;
	size_t i, j, lo, mid, hi, a, b, k, width;

	for (i = 1; i < n; i++)
		if (maglev_item_less(&v[i], &v[i - 1]))
			break;
	if (i >= n)
		return; /* already in order: the common case */

	for (lo = 0; lo < n; lo += 16) {
		hi = lo + 16 < n ? lo + 16 : n;
		for (i = lo + 1; i < hi; i++) {
			x = v[i];
			for (j = i; j > lo && maglev_item_less(&x, &v[j - 1]); j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	}
	for (width = 16; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = lo + width < n ? lo + width : n;
			hi = lo + 2 * width < n ? lo + 2 * width : n;
			a = lo;
			b = mid;
			k = lo;
			while (a < mid && b < hi)
				dst[k++] = maglev_item_less(&src[b], &src[a]) ?
					src[b++] : src[a++];
			while (a < mid)
				dst[k++] = src[a++];
			while (b < hi)
				dst[k++] = src[b++];
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

/* x mod m for any 64-bit x (Barrett reduction with q = floor(2^64 / m)). */
static inline uint32_t maglev_mod(uint64_t x, const struct maglev_state *st)
{
	uint64_t q = (uint64_t)(((unsigned __int128)x * st->barrett) >> 64);
	uint64_t r = x - q * st->m;

	while (r >= st->m)
		r -= st->m;
	return (uint32_t)r;
}

/* skip^-1 mod m (m prime, 0 < skip < m), by the extended Euclid.  The
 * remainders fit in 32 bits: 32-bit divisions are several times cheaper
 * than 64-bit ones, and up to MAGLEV_ENDGAME_MAX backends need this. */
static uint32_t maglev_inverse(uint32_t skip, uint32_t m)
{
	int64_t t = 0, nt = 1, tmp;
	uint32_t r = m, nr = skip, q, rem;

	while (nr) {
		q = r / nr;
		rem = r - q * nr;
		tmp = t - (int64_t)q * nt;
		t = nt;
		nt = tmp;
		r = nr;
		nr = rem;
	}
	return (uint32_t)(t < 0 ? t + m : t);
}

/* Collect the empty slots for the end of the fill. */
static void maglev_collect_empty(struct maglev_state *st)
{
	uint32_t w, nw = (st->m + 63) / 64, slot;
	uint64_t free_bits;

	st->empty = st->empty_buf;
	st->nempty = 0;
	for (w = 0; w < nw; w++) {
		free_bits = ~st->bitmap[w];
		while (free_bits) {
			slot = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
			free_bits &= free_bits - 1;
			if (slot < st->m)
				st->empty[st->nempty++] = slot;
		}
	}
}

/* The empty slot that comes first in c's permutation: with e empty slots a
 * walk would cost about m / e probes; this costs e products. */
static uint32_t maglev_take_direct(const struct maglev_cursor *c,
				   struct maglev_sched *sc,
				   struct maglev_state *st)
{
	uint32_t i, best_i = 0, best_j = UINT32_MAX, d, j, slot;

	if (!sc->inv)
		sc->inv = maglev_inverse(c->skip[0], st->m);
	for (i = 0; i < st->nempty; i++) {
		slot = st->empty[i];
		d = slot >= sc->offset ? slot - sc->offset :
					 slot + (st->m - sc->offset);
		j = maglev_mod((uint64_t)d * sc->inv, st);
		if (j < best_j) {
			best_j = j;
			best_i = i;
		}
	}
	slot = st->empty[best_i];
	st->empty[best_i] = st->empty[--st->nempty];
	return slot;
}

/* p + a mod m for p, a < m: no modulo, no branch (the sum may wrap in 32
 * bits when m > 2^31; the difference is still exact). */
static inline uint32_t maglev_add(uint32_t p, uint32_t a, uint32_t m)
{
	return p + a - (m & -(uint32_t)(p >= m - a));
}

static inline int maglev_taken(const uint64_t *bm, uint32_t pos)
{
	return (bm[pos >> 6] >> (pos & 63)) & 1;
}

/* Probe p + k * skip (k = 0..3) at once: the four loads are independent
 * and one branch decides a batch, where a probe at a time mispredicts the
 * loop's exit on most turns once the table is half full. */
static inline uint32_t maglev_walk4(const struct maglev_cursor *c,
				    const uint64_t *bm, uint32_t m)
{
	uint32_t p = c->pos, q1, q2, q3, free_mask;

	for (;;) {
		q1 = maglev_add(p, c->skip[0], m);
		q2 = maglev_add(p, c->skip[1], m);
		q3 = maglev_add(p, c->skip[2], m);
		free_mask = (maglev_taken(bm, p) ^ 1) |
			    (maglev_taken(bm, q1) ^ 1) << 1 |
			    (maglev_taken(bm, q2) ^ 1) << 2 |
			    (maglev_taken(bm, q3) ^ 1) << 3;
		if (free_mask)
			break;
		p = maglev_add(p, c->skip[3], m);
	}
	{
		/* a table lookup, not a switch: its jump would mispredict */
		uint32_t q[4] = { p, q1, q2, q3 };

		return q[__builtin_ctz(free_mask)];
	}
}

static inline uint32_t maglev_walk1(uint32_t p, uint32_t skip,
				    const uint64_t *bm, uint32_t m)
{
	while (maglev_taken(bm, p))
		p = maglev_add(p, skip, m);
	return p;
}

/* One turn of c, the filled-th slot: claim the first empty slot of its
 * permutation.  The hot values come as arguments, not through st: stores
 * to the table would otherwise force the compiler to reload them. */
static inline void maglev_turn(struct maglev_cursor *c,
			       struct maglev_sched *sc,
			       struct maglev_state *st, uint64_t *bm,
			       uint32_t *table, uint32_t m, uint32_t filled,
			       uint32_t walk4_at, uint32_t direct_at)
{
	uint32_t pos;

	if (filled < walk4_at) {
		/* mostly empty: the first probe nearly always succeeds */
		pos = maglev_walk1(c->pos, c->skip[0], bm, m);
	} else if (filled < direct_at) {
		pos = maglev_walk4(c, bm, m);
	} else {
		if (!st->empty)
			maglev_collect_empty(st);
		pos = maglev_take_direct(c, sc, st);
	}
	c->pos = maglev_add(pos, c->skip[0], m);
	bm[pos >> 6] |= 1ull << (pos & 63);
	table[pos] = c->id;
}

/* Equal weights: every backend plays every round, in key order. */
static void maglev_fill_equal(struct maglev_cursor *cur,
			      struct maglev_sched *sched, uint32_t nc,
			      struct maglev_state *st)
{
	uint64_t *bm = st->bitmap;
	uint32_t *table = st->table;
	uint32_t m = st->m, walk4_at = st->walk4_at;
	uint32_t direct_at = st->direct_at, filled = 0, i;

	for (;;) {
		for (i = 0; i < nc; i++) {
			maglev_turn(&cur[i], &sched[i], st, bm, table, m,
				    filled, walk4_at, direct_at);
			if (++filled == m)
				return;
		}
	}
}

static inline void maglev_cal_push(struct maglev_sched *sched, uint32_t i,
				   uint32_t *head, uint32_t *tail,
				   uint64_t bucket)
{
	sched[i].next = MAGLEV_NONE;
	if (head[bucket] == MAGLEV_NONE)
		head[bucket] = i;
	else
		sched[tail[bucket]].next = i;
	tail[bucket] = i;
}

/* Round of a backend's next turn: ceil(turn * wmax / weight). */
static inline uint64_t maglev_due(const struct maglev_sched *sc)
{
	return sc->due_q + (sc->due_r != 0);
}

/* Unequal weights: a calendar of rounds.  A backend's turns are at most
 * wmax / weight + 1 rounds apart and no turn comes after round m (the
 * backends of weight wmax claim a slot every round), so a ring of
 * nbuckets > min(wmax, m) + 1 buckets never holds two rounds at once.
 * Buckets are FIFO: within a round, turns go in the order the backends
 * were scheduled (initially by key). */
static void maglev_fill_weighted(struct maglev_cursor *cur,
				 struct maglev_sched *sched, uint32_t nc,
				 struct maglev_state *st, uint32_t *head,
				 uint32_t *tail, uint64_t nbuckets)
{
	uint64_t *bm = st->bitmap, mask = nbuckets - 1, r, due;
	uint32_t *table = st->table;
	uint32_t m = st->m, walk4_at = st->walk4_at;
	uint32_t direct_at = st->direct_at, filled = 0, i, nx;
	struct maglev_sched *sc;

	memset(head, 0xff, nbuckets * sizeof(*head));
	for (i = 0; i < nc; i++) {
		due = maglev_due(&sched[i]);
		if (due <= m)
			maglev_cal_push(sched, i, head, tail, due & mask);
	}
	for (r = 1;; r++) {
		i = head[r & mask];
		head[r & mask] = MAGLEV_NONE;
		while (i != MAGLEV_NONE) {
			sc = &sched[i];
			nx = sc->next;
			maglev_turn(&cur[i], sc, st, bm, table, m, filled,
				    walk4_at, direct_at);
			if (++filled == m)
				return;
			/* next turn: add wmax / weight as quotient and
			 * remainder (due_r < weight throughout) */
			sc->due_q += sc->step;
			if (sc->due_r >= sc->weight - sc->step_rem) {
				sc->due_r -= sc->weight - sc->step_rem;
				sc->due_q++;
			} else {
				sc->due_r += sc->step_rem;
			}
			due = maglev_due(sc);
			if (due <= m)
				maglev_cal_push(sched, i, head, tail,
						due & mask);
			i = nx;
		}
	}
}

int maglev_build(const struct maglev_backend *be, size_t n, uint32_t m,
		 uint32_t empty_id, uint32_t *table)
{
	struct maglev_item *items, *tmp;
	struct maglev_cursor *cur;
	struct maglev_sched *sched;
	struct maglev_state st;
	uint32_t *empty_buf, *head = NULL, *tail = NULL, wmax = 0, nc = 0, i;
	uint64_t nbuckets = 0, want;
	size_t k, bm_words, sz;
	int equal = 1;
	char *mem;

	if (!maglev_is_prime(m) || !table || (n && !be))
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (!be[k].weight)
			continue;
		if (nc && be[k].weight != wmax)
			equal = 0;
		if (be[k].weight > wmax)
			wmax = be[k].weight;
		if (++nc > m)
			return -EINVAL;
	}
	if (!nc) {
		for (i = 0; i < m; i++)
			table[i] = empty_id;
		return 0;
	}

	if (!equal) {
		want = (uint64_t)(wmax < m ? wmax : m) + 2;
		nbuckets = 1;
		while (nbuckets < want)
			nbuckets <<= 1;
	}
	/* One block, O(n + m): the bitmap, the empty list, the calendar's
	 * heads and tails, items and their sort buffer, cursors. */
	bm_words = ((size_t)m + 63) / 64;
	sz = bm_words * sizeof(uint64_t) +
	     (MAGLEV_ENDGAME_MAX + 2 * nbuckets) * sizeof(uint32_t) +
	     2 * (size_t)nc * sizeof(struct maglev_item) +
	     (size_t)nc * (sizeof(struct maglev_sched) +
			   sizeof(struct maglev_cursor));
	mem = malloc(sz);
	if (!mem)
		return -ENOMEM;
	st.bitmap = (uint64_t *)mem;
	items = (struct maglev_item *)(st.bitmap + bm_words);
	tmp = items + nc;
	sched = (struct maglev_sched *)(tmp + nc);
	cur = (struct maglev_cursor *)(sched + nc);
	empty_buf = (uint32_t *)(cur + nc);
	head = empty_buf + MAGLEV_ENDGAME_MAX;
	tail = head + nbuckets;

	for (k = 0, i = 0; k < n; k++) {
		if (!be[k].weight)
			continue;
		items[i].hi = maglev_load_be64(be[k].key);
		items[i].lo = maglev_load_be64(be[k].key + 8);
		items[i].weight = be[k].weight;
		items[i].id = be[k].id;
		items[i].offset = (uint32_t)(maglev_hash(be[k].key,
							 MAGLEV_SEED_OFFSET) %
					     m);
		items[i].skip = (uint32_t)(maglev_hash(be[k].key,
						       MAGLEV_SEED_SKIP) %
					   (m - 1)) +
				1;
		i++;
	}
	maglev_sort(items, tmp, nc);

	for (i = 0; i < nc; i++) {
		struct maglev_cursor *c = &cur[i];
		struct maglev_sched *sc = &sched[i];

		c->pos = items[i].offset;
		c->skip[0] = items[i].skip;
		c->skip[1] = maglev_add(c->skip[0], c->skip[0], m);
		c->skip[2] = maglev_add(c->skip[1], c->skip[0], m);
		c->skip[3] = maglev_add(c->skip[2], c->skip[0], m);
		c->id = items[i].id;
		sc->offset = items[i].offset;
		sc->inv = 0;
		sc->next = MAGLEV_NONE;
		sc->weight = items[i].weight;
		sc->step = wmax / sc->weight;
		sc->step_rem = wmax % sc->weight;
		sc->due_q = sc->step; /* first turn: 1 * wmax / weight */
		sc->due_r = sc->step_rem;
	}

	memset(st.bitmap, 0, bm_words * sizeof(uint64_t));
	st.m = m;
	st.walk4_at = m / 4;
	st.direct_at = m > MAGLEV_ENDGAME_MAX ? m - MAGLEV_ENDGAME_MAX : 0;
	st.table = table;
	st.empty = NULL;
	st.empty_buf = empty_buf;
	st.nempty = 0;
	st.barrett = UINT64_MAX / m;

	if (equal)
		maglev_fill_equal(cur, sched, nc, &st);
	else
		maglev_fill_weighted(cur, sched, nc, &st, head, tail,
				     nbuckets);
	free(mem);
	return 0;
}
