/*
 * unit.h
 *		A minimal harness for the C unit tests of the numerical core.
 *
 * Each test program includes this header, calls CHECK / CHECK_CLOSE as often
 * as it likes and ends main() with "return unit_done();", which prints the
 * closing line "N passed, N failed" and returns non-zero on any failure.
 * No PostgreSQL headers: the core is tested on its own.
 */
#ifndef TSF_UNIT_H
#define TSF_UNIT_H

#include <math.h>
#include <stdio.h>

static int	unit_passed = 0;
static int	unit_failed = 0;

/* CHECK(cond, fmt, ...): one assertion; the message names what was checked */
#define CHECK(cond, ...) \
	do { \
		if (cond) \
			unit_passed++; \
		else \
		{ \
			unit_failed++; \
			printf("not ok: %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/*
 * CHECK_CLOSE(got, want, rtol, what): |got - want| <= rtol * max(1, |want|).
 * The tolerance is relative to the reference, absolute near zero.
 */
#define CHECK_CLOSE(got, want, rtol, what) \
	do { \
		double	_g = (got), _w = (want); \
		double	_s = fabs(_w) > 1.0 ? fabs(_w) : 1.0; \
		CHECK(fabs(_g - _w) <= (rtol) * _s, \
			  "%s: got %.17g, want %.17g (rtol %g)", (what), _g, _w, (double) (rtol)); \
	} while (0)

static inline int
unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif							/* TSF_UNIT_H */
