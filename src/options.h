/*
 * options.h
 *		The options jsonb of the training aggregates and job specs, parsed
 *		against a table of keys (options.c), and the options every kind
 *		shares: the transform and the fill of the series.
 */
#ifndef TSF_OPTIONS_H
#define TSF_OPTIONS_H

#include "utils/jsonb.h"

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

/* the series' preparation, every kind's options */
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

extern double tsf_apply_transform(int transform, double v);
extern double tsf_back_transform(int transform, double v);

#endif							/* TSF_OPTIONS_H */
