/*
 * freq.c
 *		The time grid of a series: frequency inference and step arithmetic.
 *
 * A series is regular: its timestamps are origin + k * step for integers k.
 * Four kinds of step cover what users have:
 *
 *	fixed	a constant number of the ts type's own units (microseconds for
 *			timestamptz, days for date, 1 for an integer index): hourly,
 *			daily or weekly data in UTC, every 15 minutes, weekly dates
 *	days	calendar days in the session time zone (timestamptz only), so
 *			local-midnight daily data stays regular across daylight saving
 *	months	calendar months (monthly, quarterly, yearly), as date/timestamptz
 *			+ interval does it: the day of month is kept, clamped to the end
 *			of shorter months, always counted from the origin
 *	month ends	the last day of every step-th month (month, quarter or year
 *			ends), at the origin's time of day for timestamptz, in the session
 *			time zone as the calendar units are: from 2020-04-30 monthly is
 *			05-31, 06-30, ..., where months from the 30th would give 05-30
 *
 * Inference takes month ends whenever every timestamp is the last day of its
 * month and they fit, before fixed steps (06-30, 07-31, 08-31 are also 31
 * days apart; three year ends, 365) and calendar months: such data is
 * month-end data, and only that grid continues it at month ends (yearly from
 * 2019-02-28 gives 2020-02-29, not 2020-02-28).  When calendar months from
 * the origin would fit too (an origin on the 31st, whose clamped days are the
 * month ends), the two grids are the same point for point, so the fit is the
 * same either way and the name says what the data is.
 *
 * Timestamps are carried as int64 in the type's own unit.  Steps that land
 * outside the type's range are an error, not a wrap-around.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "pgtime.h"

#include "freq.h"
#include "guard.h"

#define USECS_PER_DAY_F		86400000000.0
#define AVG_DAYS_PER_MONTH		30.436875	/* Gregorian average */

const char *
tsf_ts_type_name(int ts_type)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return "timestamptz";
		case TSF_TS_DATE:
			return "date";
		default:
			return "bigint";
	}
}

Oid
tsf_ts_type_oid(int ts_type)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return TIMESTAMPTZOID;
		case TSF_TS_DATE:
			return DATEOID;
		default:
			return INT8OID;
	}
}

bool
tsf_ts_valid(int ts_type, int64 ts)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return IS_VALID_TIMESTAMP(ts);
		case TSF_TS_DATE:
			return ts >= -POSTGRES_EPOCH_JDATE &&
				ts < TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE;
		default:
			return true;
	}
}

bool
tsf_freq_valid(int ts_type, const TsfFreq *f)
{
	if (f->step <= 0)
		return false;
	switch (f->unit)
	{
		case TSF_FREQ_FIXED:
			return true;
		case TSF_FREQ_DAYS:
			return ts_type == TSF_TS_TIMESTAMPTZ && f->step <= 36525;
		case TSF_FREQ_MONTHS:
		case TSF_FREQ_MONTH_END:
			return ts_type != TSF_TS_INT8 && f->step <= 1200;
		default:
			return false;
	}
}

static void
out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range"),
			 errdetail("A step of the series' time grid falls outside the range of its type.")));
}

/*
 * The calendar fields of ts: a date's, or a timestamptz's in the session
 * time zone (time of day zero for a date).  False if ts is out of range.
 */
static bool
ts_to_tm(int ts_type, int64 ts, struct pg_tm *tm, fsec_t *fsec)
{
	int			tz;

	if (!tsf_ts_valid(ts_type, ts))
		return false;
	if (ts_type == TSF_TS_DATE)
	{
		memset(tm, 0, sizeof(*tm));
		*fsec = 0;
		j2date((int) ts + POSTGRES_EPOCH_JDATE, &tm->tm_year, &tm->tm_mon, &tm->tm_mday);
		return true;
	}
	return timestamp2tm(ts, &tz, tm, fsec, NULL, NULL) == 0;
}

/* months since January of year 0 */
static int64
month_number(const struct pg_tm *tm)
{
	return (int64) tm->tm_year * MONTHS_PER_YEAR + (tm->tm_mon - 1);
}

static int
days_in_month(int year, int month)
{
	return day_tab[isleap(year)][month - 1];
}

/* is ts the last day of its month (in the session time zone)? */
static bool
is_month_end(int ts_type, int64 ts, int64 *month)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (!ts_to_tm(ts_type, ts, &tm, &fsec) ||
		tm.tm_mday != days_in_month(tm.tm_year, tm.tm_mon))
		return false;
	*month = month_number(&tm);
	return true;
}

/*
 * The last day of the month that is `months` after the origin's, at the
 * origin's time of day: the same field arithmetic as timestamptz + interval
 * (local fields, then the zone's offset on the new day), with the day set to
 * the month's last instead of kept.  False where the result is out of range.
 */
static bool
month_end_after(int ts_type, int64 origin, int64 months, int64 *result)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int64		m;
	int64		year;
	int64		r;

	if (!ts_to_tm(ts_type, origin, &tm, &fsec) ||
		months > PG_INT32_MAX || months < PG_INT32_MIN)
		return false;
	m = month_number(&tm) + months;
	year = m >= 0 ? m / MONTHS_PER_YEAR : -((-m + MONTHS_PER_YEAR - 1) / MONTHS_PER_YEAR);
	if (year < JULIAN_MINYEAR || year > JULIAN_MAXYEAR)
		return false;
	tm.tm_year = (int) year;
	tm.tm_mon = (int) (m - year * MONTHS_PER_YEAR) + 1;
	tm.tm_mday = days_in_month(tm.tm_year, tm.tm_mon);
	if (!IS_VALID_JULIAN(tm.tm_year, tm.tm_mon, tm.tm_mday))
		return false;
	if (ts_type == TSF_TS_DATE)
		r = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
	else
	{
		int			tz = DetermineTimeZoneOffset(&tm, session_timezone);
		Timestamp	t;

		if (tm2timestamp(&tm, fsec, &tz, &t) != 0)
			return false;
		r = t;
	}
	if (!tsf_ts_valid(ts_type, r))
		return false;
	*result = r;
	return true;
}

/* origin + k steps */
int64
tsf_freq_advance(int ts_type, const TsfFreq *f, int64 origin, int64 k)
{
	int64		result;

	if (f->unit == TSF_FREQ_FIXED)
	{
		int64		delta;

		if (pg_mul_s64_overflow(k, f->step, &delta) ||
			pg_add_s64_overflow(origin, delta, &result))
			out_of_range();
	}
	else if (f->unit == TSF_FREQ_MONTH_END)
	{
		int64		months;

		if (pg_mul_s64_overflow(k, f->step, &months) ||
			!month_end_after(ts_type, origin, months, &result))
			out_of_range();
	}
	else
	{
		Interval	iv = {0};
		int64		units;

		if (pg_mul_s64_overflow(k, f->step, &units) || units > PG_INT32_MAX ||
			units < PG_INT32_MIN)
			out_of_range();
		if (f->unit == TSF_FREQ_DAYS)
			iv.day = (int32) units;
		else
			iv.month = (int32) units;

		if (ts_type == TSF_TS_DATE)
		{
			Datum		t = DirectFunctionCall2(date_pl_interval,
												DateADTGetDatum((DateADT) origin),
												IntervalPGetDatum(&iv));

			result = DatumGetDateADT(DirectFunctionCall1(timestamp_date, t));
		}
		else
			result = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
															 TimestampTzGetDatum(origin),
															 IntervalPGetDatum(&iv)));
	}
	if (!tsf_ts_valid(ts_type, result))
		out_of_range();
	return result;
}

/* days from a to b, as a double, in the type's own scale */
static double
span_days(int ts_type, int64 a, int64 b)
{
	double		d = (double) b - (double) a;

	return ts_type == TSF_TS_TIMESTAMPTZ ? d / USECS_PER_DAY_F : d;
}

/*
 * Would origin + k calendar steps stay well inside the type's range?  Lets
 * tsf_freq_index() probe candidates without raising errors.
 */
static bool
calendar_in_range(int ts_type, const TsfFreq *f, int64 origin, int64 k)
{
	double		days = (double) k * f->step * (f->unit == TSF_FREQ_DAYS ? 1.0 : 31.0);
	double		unit = ts_type == TSF_TS_TIMESTAMPTZ ? USECS_PER_DAY_F : 1.0;
	double		lo = ts_type == TSF_TS_TIMESTAMPTZ ? (double) MIN_TIMESTAMP
		: (double) -POSTGRES_EPOCH_JDATE;
	double		hi = ts_type == TSF_TS_TIMESTAMPTZ ? (double) END_TIMESTAMP
		: (double) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE);
	double		r = (double) origin + days * unit;

	if (fabs(days) > (double) PG_INT32_MAX)
		return false;
	return r > lo + 62 * unit && r < hi - 62 * unit;
}

/*
 * Is ts on the grid origin + k * step?  If so set *k.  Calendar steps guess k
 * from the elapsed time and confirm it by stepping from the origin; month
 * ends count the months between the two exactly, then confirm.
 */
bool
tsf_freq_index(int ts_type, const TsfFreq *f, int64 origin, int64 ts, int64 *k)
{
	if (f->unit == TSF_FREQ_FIXED)
	{
		int64		diff;

		if (pg_sub_s64_overflow(ts, origin, &diff))
			return false;
		if (diff % f->step != 0)
			return false;
		*k = diff / f->step;
		return true;
	}
	else if (f->unit == TSF_FREQ_MONTH_END)
	{
		struct pg_tm a,
					b;
		fsec_t		fsec;
		int64		months;
		int64		r;

		if (!ts_to_tm(ts_type, origin, &a, &fsec) || !ts_to_tm(ts_type, ts, &b, &fsec))
			return false;
		months = month_number(&b) - month_number(&a);
		if (months % f->step != 0 || !month_end_after(ts_type, origin, months, &r) || r != ts)
			return false;
		*k = months / f->step;
		return true;
	}
	else
	{
		double		per = f->unit == TSF_FREQ_DAYS ? 1.0 : AVG_DAYS_PER_MONTH;
		double		guess = span_days(ts_type, origin, ts) / (per * f->step);
		int64		k0;

		if (fabs(guess) > (double) PG_INT32_MAX)
			return false;
		k0 = (int64) llround(guess);
		{
			int64		cands[3] = {k0, k0 - 1, k0 + 1};

			for (int c = 0; c < 3; c++)
				if (calendar_in_range(ts_type, f, origin, cands[c]) &&
					tsf_freq_advance(ts_type, f, origin, cands[c]) == ts)
				{
					*k = cands[c];
					return true;
				}
		}
		return false;
	}
}

char *
tsf_ts_to_cstring(int ts_type, int64 ts)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum(ts)));
		case TSF_TS_DATE:
			return DatumGetCString(DirectFunctionCall1(date_out,
													   DateADTGetDatum((DateADT) ts)));
		default:
			return psprintf(INT64_FORMAT, ts);
	}
}

/* the forecast's ts column: dates at local midnight, NULL for an integer index */
Datum
tsf_ts_to_timestamptz(int ts_type, int64 ts, bool *isnull)
{
	*isnull = false;
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return TimestampTzGetDatum(ts);
		case TSF_TS_DATE:
			return DirectFunctionCall1(date_timestamptz, DateADTGetDatum((DateADT) ts));
		default:
			*isnull = true;
			return (Datum) 0;
	}
}

static char *
days_name(int64 days)
{
	if (days == 1)
		return "daily";
	if (days == 7)
		return "weekly";
	return psprintf("every " INT64_FORMAT " days", days);
}

char *
tsf_freq_name(int ts_type, const TsfFreq *f)
{
	int64		s = f->step;

	if (f->unit == TSF_FREQ_MONTHS)
		return s == 1 ? "monthly" : s == 3 ? "quarterly" : s == 12 ? "yearly" :
			psprintf("every " INT64_FORMAT " months", s);
	if (f->unit == TSF_FREQ_MONTH_END)
		return s == 1 ? "monthly (month end)" : s == 3 ? "quarterly (quarter end)" :
			s == 12 ? "yearly (year end)" :
			psprintf("every " INT64_FORMAT " months (month end)", s);
	if (f->unit == TSF_FREQ_DAYS || ts_type == TSF_TS_DATE)
		return days_name(s);
	if (ts_type == TSF_TS_INT8)
		return s == 1 ? "every step" : psprintf("every " INT64_FORMAT " steps", s);
	if (s % USECS_PER_DAY == 0)
		return days_name(s / USECS_PER_DAY);
	if (s % USECS_PER_HOUR == 0)
		return s == USECS_PER_HOUR ? "hourly" :
			psprintf("every " INT64_FORMAT " hours", s / USECS_PER_HOUR);
	if (s % USECS_PER_MINUTE == 0)
		return psprintf("every " INT64_FORMAT " minutes", s / USECS_PER_MINUTE);
	if (s % USECS_PER_SEC == 0)
		return psprintf("every " INT64_FORMAT " seconds", s / USECS_PER_SEC);
	return psprintf("every " INT64_FORMAT " microseconds", s);
}

/* every ts (sorted, distinct) on the grid from ts[0], with increasing index? */
static bool
all_on_grid(int ts_type, const TsfFreq *f, const int64 *ts, int64 n)
{
	int64		prev = -1;

	for (int64 i = 0; i < n; i++)
	{
		int64		k;

		if (!tsf_freq_index(ts_type, f, ts[0], ts[i], &k) || k <= prev)
			return false;
		prev = k;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * Month ends, if every ts is the last day of its month: the step is the
 * smallest number of months between neighbours.
 */
static bool
month_end_step(int ts_type, const int64 *ts, int64 n, int64 *step)
{
	int64		prev = 0;
	int64		s = PG_INT64_MAX;

	for (int64 i = 0; i < n; i++)
	{
		int64		m;

		if (!is_month_end(ts_type, ts[i], &m) || (i > 0 && m <= prev))
			return false;
		if (i > 0 && m - prev < s)
			s = m - prev;
		prev = m;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*step = s;
	return true;
}

/*
 * Infer the step of a sorted series of distinct timestamps (n >= 2).  Month
 * ends first, when every timestamp is the last day of its month and the
 * smallest gap is about a month or more (see the header for why they win);
 * else the smallest gap, if every gap is a multiple of it; else, for calendar
 * types, the nearest whole number of days or months that puts every point on
 * the grid.  An irregular series is an error.
 */
void
tsf_freq_infer(int ts_type, const int64 *ts, int64 n, TsfFreq *f)
{
	int64		d = PG_INT64_MAX;
	int64		at = 0;
	bool		fixed = true;
	int64		months;

	Assert(n >= 2);
	for (int64 i = 1; i < n; i++)
	{
		int64		g;

		if (pg_sub_s64_overflow(ts[i], ts[i - 1], &g))
			g = PG_INT64_MAX;
		if (g < d)
			d = g;
	}
	for (int64 i = 1; i < n && fixed; i++)
	{
		int64		g;

		if (pg_sub_s64_overflow(ts[i], ts[i - 1], &g) || g % d != 0)
		{
			fixed = false;
			at = i;
		}
	}
	/* month, quarter or year ends (a 31-day fixed step can be month ends too) */
	if (ts_type != TSF_TS_INT8 && span_days(ts_type, 0, d) >= 27.5 &&
		month_end_step(ts_type, ts, n, &months) && months <= 1200)
	{
		f->unit = TSF_FREQ_MONTH_END;
		f->step = months;
		if (all_on_grid(ts_type, f, ts, n))
			return;
	}

	f->unit = TSF_FREQ_FIXED;
	f->step = d;
	if (fixed)
		return;

	if (ts_type != TSF_TS_INT8)
	{
		double		dd = span_days(ts_type, 0, d);

		/* calendar days: daily or weekly local data across daylight saving */
		if (ts_type == TSF_TS_TIMESTAMPTZ && dd >= 0.9)
		{
			f->unit = TSF_FREQ_DAYS;
			f->step = Max(1, llround(dd));
			if (tsf_freq_valid(ts_type, f) && all_on_grid(ts_type, f, ts, n))
				return;
		}
		/* calendar months: monthly, quarterly, yearly (steps the format takes) */
		if (dd >= 27.5)
		{
			f->unit = TSF_FREQ_MONTHS;
			f->step = Max(1, llround(dd / AVG_DAYS_PER_MONTH));
			if (tsf_freq_valid(ts_type, f) && all_on_grid(ts_type, f, ts, n))
				return;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("cannot infer the frequency of the time series"),
			 errdetail("Timestamps %s and %s are not a whole number of steps apart, the step being the smallest gap in the series.",
					   tsf_ts_to_cstring(ts_type, ts[at - 1]),
					   tsf_ts_to_cstring(ts_type, ts[at])),
			 errhint("The series must be regular (hourly, daily, weekly, monthly, quarterly, yearly or any fixed step); missing points can be filled with the \"fill\" option.")));
}

/*
 * The season's length in steps inferred from the frequency, 0 for none: a
 * year (TSF_DAYS_PER_YEAR days) for data from daily to monthly (52.18 steps
 * for weekly data, 12 for monthly), a day below daily (24 for hourly), none
 * for an integer index or when a season would be shorter than two steps.
 * The LSTM's season inputs and the AR kind's harmonics use it.
 */
double
tsf_season_period(int ts_type, const TsfFreq *f)
{
	double		p;
	double		step = (double) f->step;

	switch (f->unit)
	{
		case TSF_FREQ_MONTHS:
		case TSF_FREQ_MONTH_END:
			p = 12.0 / step;
			break;
		case TSF_FREQ_DAYS:
			p = TSF_DAYS_PER_YEAR / step;
			break;
		default:
			if (ts_type == TSF_TS_INT8)
				return 0.0;
			if (ts_type == TSF_TS_DATE)
				p = TSF_DAYS_PER_YEAR / step;
			else if (f->step >= USECS_PER_DAY)
				p = TSF_DAYS_PER_YEAR * USECS_PER_DAY_F / step;
			else
				p = USECS_PER_DAY_F / step;
	}
	return p >= 2.0 ? p : 0.0;
}

/* position of ts in grid steps since 2000-01-01 (or index 0) */
static double
steps_since_epoch(int ts_type, const TsfFreq *f, int64 ts)
{
	double		step = (double) f->step;

	switch (f->unit)
	{
		case TSF_FREQ_MONTHS:
		case TSF_FREQ_MONTH_END:
			{
				int			year,
							month,
							day;

				if (ts_type == TSF_TS_DATE)
					j2date((int) ts + POSTGRES_EPOCH_JDATE, &year, &month, &day);
				else
				{
					struct pg_tm tm;
					fsec_t		fsec;
					int			tz;

					if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
						ereport(ERROR,
								(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
								 errmsg("timestamp out of range")));
					year = tm.tm_year;
					month = tm.tm_mon;
				}
				return ((double) (year - 2000) * 12.0 + (month - 1)) / step;
			}
		case TSF_FREQ_DAYS:
			return (double) ts / USECS_PER_DAY_F / step;
		default:
			return (double) ts / step;
	}
}

/*
 * The season's phase in [0, 1) at timestamp ts, for a period in steps,
 * measured from 2000-01-01 (index 0 for bigint series), so that two models
 * of one series agree on it whatever their training window
 */
double
tsf_season_phase(int ts_type, const TsfFreq *f, int64 ts, double period)
{
	double		x;

	if (period <= 0)
		return 0.0;
	x = steps_since_epoch(ts_type, f, ts) / period;
	x -= floor(x);
	return x >= 0.0 && x < 1.0 ? x : 0.0;
}
