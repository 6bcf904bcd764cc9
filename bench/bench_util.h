/*
 * bench_util.h
 *		What the C benchmarks of the network core share: the thread's CPU
 *		clock (a job on the other core does not count) and an allocation
 *		that exits on failure.  A benchmark's helper, not part of the build.
 */
#ifndef TSF_BENCH_UTIL_H
#define TSF_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* seconds of this thread's CPU time */
static inline double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* p, or exit 2 if an allocation gave NULL */
static inline void *
must(void *p)
{
	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

#endif							/* TSF_BENCH_UTIL_H */
