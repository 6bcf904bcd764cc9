/*
 * model.h
 *		A trained model in memory and its stored format (model.c): the part
 *		every kind shares (the header: the time grid it was trained on, the
 *		transform, the fit's provenance) and the kind's own payload, which
 *		only the kind's files know.  The reader and the writer of the format,
 *		and the jsonb view, call the kind's routines (kind.h) for the payload.
 */
#ifndef TSF_MODEL_H
#define TSF_MODEL_H

#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/timestamp.h"

#include "freq.h"
#include "jsonbuild.h"

struct TsfKind;

typedef struct TsfModel
{
	const struct TsfKind *kind; /* its routines (kind.h) */
	int32		ts_type;		/* TsfTsType */
	TsfFreq		freq;
	int64		first_ts;		/* first and last training timestamps */
	int64		last_ts;
	int64		n;				/* training points (grid, incl. filled) */
	int64		n_filled;
	int32		transform;		/* TsfTransform */
	int32		fill;			/* TsfFill */
	double		fit_seconds;
	TimestampTz fitted_at;
	int32		device;			/* trained on: TSF_TRAINED_CPU or _CUDA */
	int32		format_version; /* of the value it was read from */
	int64		n_after;		/* grid steps its state was moved past the
								 * training data by model_update() (0: none;
								 * stored from format version 3 on) */
	void	   *payload;		/* the kind's own fields */
} TsfModel;

#define TSF_MODEL_MAGIC		0x4D465354	/* "TSFM" little-endian */
#define TSF_MODEL_VERSION	3	/* newest written; 1 and 2 are read too (model.c) */
#define TSF_MODEL_HEADER_SIZE	69	/* bytes before the payload (version 2) */
#define TSF_MODEL_HEADER_SIZE_V3	77	/* version 3: n_after added */

/* where a model was trained (stored from format version 2 on) */
#define TSF_TRAINED_CPU		0
#define TSF_TRAINED_CUDA	1

/*
 * Reading the stored format, bounds-checked: every read past the end, and
 * every check a kind's reader makes, raises the reader's one error, whose
 * SQLSTATE depends on where the bytes came from (model.c)
 */
typedef struct TsfReader
{
	const uint8 *p;
	Size		left;			/* bytes not read yet */
	int			sqlstate;
	int			depth;			/* combinations this value is nested in */
} TsfReader;

/* combinations nested in combinations: how deep the reader goes */
#define TSF_MAX_NESTING		2

extern void tsf_read_corrupt(TsfReader *r, const char *detail) pg_attribute_noreturn();
extern uint8 tsf_read_u8(TsfReader *r);
extern uint16 tsf_read_u16(TsfReader *r);
extern uint32 tsf_read_u32(TsfReader *r);
extern int64 tsf_read_i64(TsfReader *r);
extern double tsf_read_f64(TsfReader *r);
extern double tsf_read_finite(TsfReader *r, const char *what);
extern int	tsf_read_bounded(TsfReader *r, uint32 lo, uint32 hi, const char *what);

/* writing it, little-endian, no padding */
extern void tsf_write_u8(StringInfo b, uint8 v);
extern void tsf_write_u16(StringInfo b, uint16 v);
extern void tsf_write_u32(StringInfo b, uint32 v);
extern void tsf_write_i64(StringInfo b, int64 v);
extern void tsf_write_f64(StringInfo b, double v);

extern bytea *tsf_model_serialize(const TsfModel *m);
extern void tsf_model_deserialize(const char *data, Size len, TsfModel *m,
								  int sqlstate);
extern TsfModel *tsf_model_from_datum(Datum d);

/*
 * A model stored inside another (a combination's member): the next len
 * bytes of r, read and validated as a whole model one level deeper
 */
extern void tsf_read_nested(TsfReader *r, Size len, TsfModel *m);

/* a model's view (model_info's, or the full one) as the next value of js */
extern void tsf_model_view(TsfJson *js, const TsfModel *m, bool full);

/*
 * The grid step (counted from first_ts) of the step after the model's
 * state: the first a forecast gives, n after the training data, later once
 * model_update() has moved the state on
 */
static inline int64
tsf_model_next_step(const TsfModel *m)
{
	return m->n + m->n_after;
}
extern void tsf_model_free(TsfModel *m);

/* the common fields of a model fitted on a series, its fit timed from start */
struct TsfSeries;
extern void tsf_model_init(TsfModel *m, const struct TsfKind *kind,
						   const struct TsfSeries *s, int transform, int fill,
						   void *payload);

/* seconds since start: a fit's time */
static inline double
tsf_seconds_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

#endif							/* TSF_MODEL_H */
