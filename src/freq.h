/*
 * freq.h
 *		The time axis of a series: the SQL type of its timestamps, its
 *		frequency, and the grid arithmetic of freq.c.
 *
 * A series is regular: its timestamps are origin + k * step for integers k
 * (freq.c's header says what a step can be).  Timestamps are carried as
 * int64 in the type's own unit.
 */
#ifndef TSF_FREQ_H
#define TSF_FREQ_H

/* the SQL type of the ts column a model was trained on */
typedef enum TsfTsType
{
	TSF_TS_TIMESTAMPTZ = 1,		/* microseconds since 2000-01-01 UTC */
	TSF_TS_DATE = 2,			/* days since 2000-01-01 */
	TSF_TS_INT8 = 3				/* a plain integer index */
} TsfTsType;

/* how one step of the series is measured */
typedef enum TsfFreqUnit
{
	TSF_FREQ_FIXED = 1,			/* step in the type's own unit (usec, day, 1) */
	TSF_FREQ_DAYS = 2,			/* calendar days in the session time zone */
	TSF_FREQ_MONTHS = 3,		/* calendar months */
	TSF_FREQ_MONTH_END = 4		/* the last day of every step-th month */
} TsfFreqUnit;

typedef struct TsfFreq
{
	int32		unit;			/* TsfFreqUnit */
	int64		step;			/* > 0 */
} TsfFreq;

/*
 * largest number of grid points a series (with gaps filled) may span, and
 * largest forecast horizon: structural bounds of the stored format; the
 * memory an operation may take is bounded by tsforecast.max_memory
 * (guard.h), checked before it is taken
 */
#define TSF_MAX_POINTS		100000000
#define TSF_MAX_HORIZON		100000

extern const char *tsf_ts_type_name(int ts_type);
extern Oid	tsf_ts_type_oid(int ts_type);
extern void tsf_freq_infer(int ts_type, const int64 *ts, int64 n, TsfFreq *f);
extern int64 tsf_freq_advance(int ts_type, const TsfFreq *f, int64 origin, int64 k);
extern bool tsf_freq_index(int ts_type, const TsfFreq *f, int64 origin, int64 ts,
						   int64 *k);
extern char *tsf_freq_name(int ts_type, const TsfFreq *f);
extern char *tsf_ts_to_cstring(int ts_type, int64 ts);
extern Datum tsf_ts_to_timestamptz(int ts_type, int64 ts, bool *isnull);
extern bool tsf_freq_valid(int ts_type, const TsfFreq *f);
extern bool tsf_ts_valid(int ts_type, int64 ts);
extern int64 tsf_ts_from_datum(int ts_type, Datum d);

/* default seasons: a year for daily to monthly data, a day below daily */
#define TSF_DAYS_PER_YEAR	365.25

extern double tsf_season_period(int ts_type, const TsfFreq *f);
extern double tsf_season_phase(int ts_type, const TsfFreq *f, int64 ts,
							   double period);

#endif							/* TSF_FREQ_H */
