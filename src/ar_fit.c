/*
 * ar_fit.c
 *		ar_fit(ts, value [, options]): the AR training aggregate.
 *
 * The transition, combine and (de)serialize steps are the shared series
 * state's (series.c).  The final function prepares the series, picks the
 * order (fixed, or by AIC up to a bound), calls the core (core/ar.c) and
 * packs the result into a tsmodel.
 */
#include "tsforecast.h"

#include <time.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tsf_ar_fit_transfn);
PG_FUNCTION_INFO_V1(tsf_ar_fit_finalfn);

typedef struct ArOptions
{
	int32		order;
	int32		max_order;
	int32		method;
	bool		intercept;
	int32		transform;
	int32		fill;
} ArOptions;

static const char *const ar_method_names[] = {"ols", "yule_walker", NULL};

enum
{
	OPT_ORDER, OPT_MAX_ORDER, OPT_METHOD, OPT_INTERCEPT, OPT_TRANSFORM, OPT_FILL,
	N_AR_OPTS
};

static const TsfOptDef ar_opts[N_AR_OPTS] = {
	{"order", TSF_OPT_INT, offsetof(ArOptions, order), 0, TSF_AR_MAX_ORDER, NULL},
	{"max_order", TSF_OPT_INT, offsetof(ArOptions, max_order), 0, TSF_AR_MAX_ORDER, NULL},
	{"method", TSF_OPT_ENUM, offsetof(ArOptions, method), 0, 0, ar_method_names},
	{"intercept", TSF_OPT_BOOL, offsetof(ArOptions, intercept), 0, 0, NULL},
	{"transform", TSF_OPT_ENUM, offsetof(ArOptions, transform), 0, 0, tsf_transform_names},
	{"fill", TSF_OPT_ENUM, offsetof(ArOptions, fill), 0, 0, tsf_fill_names},
};

/* defaults, then the user's options; seen[] says which were given */
static void
ar_parse_options(Jsonb *opts, ArOptions *o, bool *seen)
{
	o->order = -1;
	o->max_order = -1;
	o->method = TSF_AR_OLS;
	o->intercept = true;
	o->transform = TSF_TRANSFORM_NONE;
	o->fill = TSF_FILL_NONE;
	tsf_parse_options(opts, ar_opts, N_AR_OPTS, o, seen);
	if (seen[OPT_ORDER] && seen[OPT_MAX_ORDER])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"order\" and \"max_order\" cannot be used together"),
				 errhint("Give \"order\" to fix the order, or \"max_order\" to choose it by AIC.")));
}

/* check an options jsonb of ar_fit; returns its fill mode */
int
tsf_ar_check_options(Jsonb *opts)
{
	ArOptions	o;
	bool		seen[N_AR_OPTS];

	ar_parse_options(opts, &o, seen);
	return o.fill;
}

Datum
tsf_ar_fit_transfn(PG_FUNCTION_ARGS)
{
	return tsf_series_accum(fcinfo, tsf_ar_check_options);
}

static void
too_short(int64 n, int p, int intercept, bool selecting)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 selecting ?
			 errmsg("time series is too short to select an AR order up to %d", p) :
			 errmsg("time series is too short to fit an AR(%d) model", p),
			 errdetail("The series has " INT64_FORMAT " points, but at least %d are required.",
					   n, tsf_ar_min_points(p, intercept))));
}

/*
 * The core's poll function (core/ar.h, TsfArPoll): a pending cancel or
 * termination stops the fit.  It only reads the flags: the core must not
 * be left by longjmp, so the error is raised after it returns.
 */
static int
ar_poll_interrupts(void *arg)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending);
}

static const TsfArPoll ar_poll = {ar_poll_interrupts, NULL};

static void
check_status(TsfArStatus s, int p)
{
	switch (s)
	{
		case TSF_AR_OK:
			return;
		case TSF_AR_CANCELLED:
			/* raises the pending cancel's own error (statement timeout, ...) */
			CHECK_FOR_INTERRUPTS();
			/* interrupts held off: stop all the same, the fit is unfinished */
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement due to user request")));
			break;
		case TSF_AR_RANK_DEFICIENT:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("cannot fit an AR(%d) model: the lagged values are collinear", p),
					 errdetail("The series is constant or too regular for this order."),
					 errhint("Use a lower order, or let the order be chosen by AIC.")));
			break;
		case TSF_AR_NOT_FINITE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("AR(%d) estimates overflowed", p),
					 errhint("Rescale the series, or use the \"log\" transform.")));
			break;
		default:
			elog(ERROR, "AR core failed with status %d", (int) s);
	}
}

Datum
tsf_ar_fit_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "ar_fit called in non-aggregate context");
	PG_RETURN_BYTEA_P(tsf_ar_fit_state((TsfSeriesState *) PG_GETARG_POINTER(0)));
}

/*
 * Fit the AR model of a collected series (its options in st->options) and
 * return it serialized: ar_fit's final step, and a job's for "kind": "ar".
 * Sorts st's points in place.
 */
bytea *
tsf_ar_fit_state(TsfSeriesState *st)
{
	ArOptions	o;
	bool		seen[N_AR_OPTS];
	TsfSeries	s;
	TsfModel	m;
	int			p,
				maxp;
	int			n;
	double	   *work;
	struct timespec t0;
	TsfArStatus status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ar_parse_options(st->options, &o, seen);
	tsf_series_prepare(st, o.transform, o.fill, &s);
	n = (int) s.n;

	if (o.order >= 0)
	{
		p = o.order;
		maxp = 0;
		if (n < tsf_ar_min_points(p, o.intercept))
			too_short(n, p, o.intercept, false);
	}
	else
	{
		maxp = o.max_order >= 0 ? o.max_order : tsf_ar_default_max_order(n, o.intercept);
		if (n < tsf_ar_min_points(maxp, o.intercept))
			too_short(n, maxp, o.intercept, true);
		p = maxp;
	}

	/* the core's workspace and the model's arrays, with the series it holds */
	tsf_check_memory(s.bytes + sizeof(double) * ((double) tsf_ar_work_size(n, p) + 4.0 * (p + 1)),
					 TSF_MEM_AR_FIT,
					 psprintf("An AR(%d) fit on %d points.", p, n));
	work = palloc_extended(sizeof(double) * tsf_ar_work_size(n, p),
						   MCXT_ALLOC_HUGE);
	if (o.order < 0)
	{
		status = tsf_ar_select(s.y, n, maxp, o.intercept, o.method, &ar_poll,
							   work, &p);
		check_status(status, maxp);
	}

	memset(&m, 0, sizeof(m));
	m.ar.phi = palloc(sizeof(double) * (p + 1));
	status = tsf_ar_fit(s.y, n, p, o.intercept, o.method, &ar_poll, work,
						&m.ar);
	check_status(status, p);
	CHECK_FOR_INTERRUPTS();

	m.kind = TSF_KIND_AR;
	m.ts_type = s.ts_type;
	m.freq = s.freq;
	m.first_ts = s.first_ts;
	m.last_ts = s.last_ts;
	m.n = s.n;
	m.n_filled = s.n_filled;
	m.transform = o.transform;
	m.fill = o.fill;
	m.ar_method = o.method;
	m.ar_max_order = maxp;
	m.ar_hist = s.y + (n - p);
	m.fitted_at = GetCurrentTransactionStartTimestamp();
	m.fit_seconds = tsf_seconds_since(&t0);

	pfree(work);
	return tsf_model_serialize(&m);
}
