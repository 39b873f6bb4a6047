/*
 * rng.h - a seeded pseudo-random generator with independent streams.
 *
 * xoshiro256** seeded through SplitMix64 from (seed, stream): the same seed
 * and stream always give the same sequence on every machine, and different
 * streams of one seed are independent (splitting, shuffling, weight
 * initialisation and dropout each take their own stream, so changing one
 * does not shift the others).  The state is four words, so a checkpoint
 * saves it as is.
 */
#ifndef MAAS_CORE_RNG_H
#define MAAS_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct maas_rng {
	uint64_t s[4];
};

void maas_rng_init(struct maas_rng *r, uint64_t seed, uint64_t stream);
uint64_t maas_rng_u64(struct maas_rng *r);
/* uniform in [0, 1) with 53 random bits */
double maas_rng_uniform(struct maas_rng *r);
/* uniform integer in [0, n), unbiased; n > 0 */
uint64_t maas_rng_below(struct maas_rng *r, uint64_t n);
/* standard normal (Box-Muller, no cached spare: the state alone is the state) */
double maas_rng_normal(struct maas_rng *r);
/* Fisher-Yates shuffle of n elements of type size_t */
void maas_rng_shuffle(struct maas_rng *r, size_t *a, size_t n);

#endif
