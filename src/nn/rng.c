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
#include "nn.h"

/* splitmix64: one step, used to expand a 64-bit seed into the state */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Seed the generator; any seed (0 included) gives a valid non-zero state */
void
tsf_rng_seed(tsf_rng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

/* Next 64 random bits (xoshiro256**) */
uint64_t
tsf_rng_next(tsf_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform double in [0, 1) with 53 random bits */
double
tsf_rng_uniform(tsf_rng *rng)
{
	return (double) (tsf_rng_next(rng) >> 11) * 0x1.0p-53;
}
