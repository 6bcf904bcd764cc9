/*
 * rng.c
 *		The core's random number generator: xoshiro256** with an explicit
 *		state, seeded through splitmix64.
 *
 * No global state: every caller holds its own tsf_rng, so parameter init,
 * dropout masks and Monte-Carlo dropout are reproducible bit for bit from a
 * seed on any platform (the generator uses only 64-bit integer arithmetic).
 * Reference: Blackman and Vigna, https://prng.di.unimi.it/.
 */
#include "nn_kernels.h"

/* splitmix64: one step, used to expand a 64-bit seed into the state */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Seed the generator; any seed (0 included) gives a valid non-zero state */
void
tsf_rng_seed(tsf_rng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

/* Next 64 random bits (xoshiro256**, nn_kernels.h) */
uint64_t
tsf_rng_next(tsf_rng *rng)
{
	return tsf_rng_next_inline(rng);
}

/* Uniform double in [0, 1) with 53 random bits */
double
tsf_rng_uniform(tsf_rng *rng)
{
	return tsf_rng_uniform_inline(rng);
}
