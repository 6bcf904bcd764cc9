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

#define TSF_VERSION_STR		"0.5.0"

#endif							/* TSFORECAST_H */
