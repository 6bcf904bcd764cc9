/*
 * tsforecast.h
 *		The extension as a whole: its version.
 *
 * Each concept has a header of its own (freq.h, series.h, model.h,
 * kind.h, jobs.h, ...: README.md's Layout lists them); this one only says
 * which release the library is.
 */
#ifndef TSFORECAST_H
#define TSFORECAST_H

/*
 * the release: the Makefile passes tsforecast.control's default_version;
 * a build outside it (test/fuzz/run.sh's) says "unknown"
 */
#ifndef TSF_VERSION_STR
#define TSF_VERSION_STR		"unknown"
#endif

#endif							/* TSFORECAST_H */
