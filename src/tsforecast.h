/*
 * tsforecast.h
 *		Declarations shared by the SQL-facing glue of tsforecast.
 *
 * The glue turns SQL values into plain arrays for the numerical core
 * (src/core, no PostgreSQL headers) and the core's results into tsmodel
 * values.  This header holds the in-memory model, the series a training
 * aggregate collects, time-grid arithmetic and the option parser.
 */
#ifndef TSFORECAST_H
#define TSFORECAST_H

#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/ar.h"

#define TSF_VERSION_STR		"0.1.0"

/* ---- time axis ---- */

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
	TSF_FREQ_MONTHS = 3			/* calendar months */
} TsfFreqUnit;

typedef struct TsfFreq
{
	int32		unit;			/* TsfFreqUnit */
	int64		step;			/* > 0 */
} TsfFreq;

/* largest number of grid points a series (with gaps filled) may span */
#define TSF_MAX_POINTS		100000000
/* largest forecast horizon */
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

/* ---- options ---- */

typedef enum TsfOptType
{
	TSF_OPT_INT,
	TSF_OPT_FLOAT,
	TSF_OPT_BOOL,
	TSF_OPT_ENUM
} TsfOptType;

/*
 * One recognised key of an options jsonb.  The parser writes the value into
 * the struct the caller passes, at offset; ints and floats are range-checked
 * against [min, max]; enums take one of the names in choices (NULL-ended)
 * and store its index.
 */
typedef struct TsfOptDef
{
	const char *name;
	TsfOptType	type;
	size_t		offset;
	double		min;
	double		max;
	const char *const *choices;
} TsfOptDef;

extern void tsf_parse_options(Jsonb *opts, const TsfOptDef *defs, int ndefs,
							  void *out, bool *seen);

/* options every training aggregate shares (the series preparation) */
typedef enum TsfTransform
{
	TSF_TRANSFORM_NONE = 0,
	TSF_TRANSFORM_LOG = 1
} TsfTransform;

typedef enum TsfFill
{
	TSF_FILL_NONE = 0,			/* a gap is an error */
	TSF_FILL_LINEAR = 1,		/* interpolate between neighbours */
	TSF_FILL_PREVIOUS = 2		/* carry the last value forward */
} TsfFill;

extern const char *const tsf_transform_names[];
extern const char *const tsf_fill_names[];

/* ---- the series a training aggregate collects ---- */

typedef struct TsfPoint
{
	int64		ts;
	double		value;
} TsfPoint;

typedef struct TsfSeriesState
{
	int32		ts_type;		/* TsfTsType, fixed by the first row */
	int32		fill;			/* TsfFill, from the options */
	int64		n;				/* points collected */
	int64		cap;
	TsfPoint   *pts;			/* (cap) */
	Jsonb	   *options;		/* first non-NULL options seen, or NULL */
} TsfSeriesState;

/* a series ready for the core: sorted, on a regular grid, gaps filled */
typedef struct TsfSeries
{
	int32		ts_type;
	TsfFreq		freq;
	int64		first_ts;
	int64		last_ts;
	int64		n;				/* grid points, first..last */
	int64		n_filled;		/* of which filled in */
	double	   *y;				/* (n) transformed values */
} TsfSeries;

extern Datum tsf_series_accum(FunctionCallInfo fcinfo,
							  int (*validate) (Jsonb *opts));
extern void tsf_series_prepare(TsfSeriesState *st, int transform, int fill,
							   TsfSeries *out);

/* ---- the model ---- */

typedef enum TsfModelKind
{
	TSF_KIND_AR = 1,
	TSF_KIND_LSTM = 2
} TsfModelKind;

typedef struct TsfModel
{
	int32		kind;			/* TsfModelKind */
	int32		ts_type;
	TsfFreq		freq;
	int64		first_ts;		/* first and last training timestamps */
	int64		last_ts;
	int64		n;				/* training points (grid, incl. filled) */
	int64		n_filled;
	int32		transform;		/* TsfTransform */
	int32		fill;			/* TsfFill */
	double		fit_seconds;
	TimestampTz fitted_at;

	/* kind AR */
	int32		ar_method;		/* TsfArMethod */
	int32		ar_max_order;	/* bound searched by AIC; 0 if the order was fixed */
	TsfArModel	ar;				/* ar.phi: (p) */
	double	   *ar_hist;		/* (p) last transformed values, oldest first */
} TsfModel;

#define TSF_MODEL_MAGIC		0x4D465354	/* "TSFM" little-endian */
#define TSF_MODEL_VERSION	1

extern bytea *tsf_model_serialize(const TsfModel *m);
extern void tsf_model_deserialize(const char *data, Size len, TsfModel *m,
								  int sqlstate);
extern TsfModel *tsf_model_from_datum(Datum d);

extern void tsf_check_level(double level);
extern double tsf_back_transform(int transform, double v);
extern double tsf_apply_transform(int transform, double v);

#endif							/* TSFORECAST_H */
