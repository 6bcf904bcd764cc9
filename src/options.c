/*
 * options.c
 *		The options jsonb of the training aggregates.
 *
 * Each model kind describes its keys in a table of TsfOptDef; one parser
 * walks the jsonb object, checks each key's type and range and writes it into
 * the kind's options struct.  Unknown keys are an error whose hint lists the
 * valid ones, so a typo never silently trains the wrong model.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "options.h"

const char *const tsf_transform_names[] = {"none", "log", NULL};
const char *const tsf_fill_names[] = {"none", "linear", "previous", NULL};

static char *
valid_keys(const TsfOptDef *defs, int ndefs)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < ndefs; i++)
		appendStringInfo(&b, "%s\"%s\"", i == 0 ? "" : ", ", defs[i].name);
	return b.data;
}

static char *
choice_list(const char *const *choices)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; choices[i]; i++)
		appendStringInfo(&b, "%s\"%s\"", i == 0 ? "" : ", ", choices[i]);
	return b.data;
}

/* a value as a message shows it: cut to 40 characters */
static const char *
jbv_text(const JsonbValue *v)
{
	char	   *t;

	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			t = pnstrdup(v->val.string.val, Min(v->val.string.len, 40));
			break;
		case jbvNumeric:
			t = DatumGetCString(DirectFunctionCall1(numeric_out,
													NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		default:
			return "(object or array)";
	}
	if (strlen(t) > 40 || (v->type == jbvString && v->val.string.len > 40))
		strcpy(t + 37, "...");
	return t;
}

static void
bad_value(const TsfOptDef *d, const JsonbValue *v, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": %s", d->name, jbv_text(v)),
			 errdetail("%s", detail)));
}

/*
 * A number option as a float8.  A number beyond float8's range (jsonb takes
 * any numeric) becomes an infinity here, not numeric_float8's error, so the
 * range check below reports it as the option's invalid value.
 */
static double
numeric_value(const TsfOptDef *d, const JsonbValue *v)
{
	if (v->type != jbvNumeric)
		bad_value(d, v, "Value must be a number.");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

/*
 * Parse opts (may be NULL: nothing to do) against defs into out.  seen[i],
 * when the caller passes an array, says whether defs[i] was given.
 */
void
tsf_parse_options(Jsonb *opts, const TsfOptDef *defs, int ndefs, void *out,
				  bool *seen)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (seen)
		memset(seen, 0, sizeof(bool) * ndefs);
	if (opts == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a jsonb object"),
				 errhint("For example: '{\"order\": 2}'.")));

	it = JsonbIteratorInit(&opts->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		const TsfOptDef *d = NULL;
		int			di;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (di = 0; di < ndefs; di++)
			if (strcmp(defs[di].name, key) == 0)
			{
				d = &defs[di];
				break;
			}
		if (d == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%s\"", key),
					 errhint("Valid options are: %s.", valid_keys(defs, ndefs))));

		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (seen)
			seen[di] = true;

		switch (d->type)
		{
			case TSF_OPT_INT:
				{
					double		x = numeric_value(d, &v);

					if (isfinite(x) && x != floor(x))
						bad_value(d, &v, "Value must be an integer.");
					if (!(x >= d->min && x <= d->max))
						bad_value(d, &v, psprintf("Value must be between %.0f and %.0f.",
												  d->min, d->max));
					*(int32 *) ((char *) out + d->offset) = (int32) x;
					break;
				}
			case TSF_OPT_FLOAT:
				{
					double		x = numeric_value(d, &v);

					if (!(x >= d->min && x <= d->max))
						bad_value(d, &v, psprintf("Value must be between %g and %g.",
												  d->min, d->max));
					*(double *) ((char *) out + d->offset) = x;
					break;
				}
			case TSF_OPT_BOOL:
				if (v.type != jbvBool)
					bad_value(d, &v, "Value must be true or false.");
				*(bool *) ((char *) out + d->offset) = v.val.boolean;
				break;
			case TSF_OPT_ENUM:
				{
					int			i;
					char	   *s;

					if (v.type != jbvString)
						bad_value(d, &v, psprintf("Value must be one of %s.",
												  choice_list(d->choices)));
					s = pnstrdup(v.val.string.val, v.val.string.len);
					for (i = 0; d->choices[i]; i++)
						if (strcmp(d->choices[i], s) == 0)
							break;
					if (d->choices[i] == NULL)
						bad_value(d, &v, psprintf("Value must be one of %s.",
												  choice_list(d->choices)));
					*(int32 *) ((char *) out + d->offset) = i;
					break;
				}
		}
	}
}

/* the transform of the series' values, and back: log's domain is (0, inf) */
double
tsf_apply_transform(int transform, double v)
{
	return transform == TSF_TRANSFORM_LOG ? log(v) : v;
}

double
tsf_back_transform(int transform, double v)
{
	return transform == TSF_TRANSFORM_LOG ? exp(v) : v;
}
