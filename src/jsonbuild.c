/*
 * jsonbuild.c
 *		Building jsonb values key by key with pushJsonbValue, as PostgreSQL's
 *		own jsonb functions build theirs: no text to re-parse, and float8
 *		values written as their shortest exact decimal (the text jsonb_in
 *		would get from float8out), NaN and infinity as null.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "common/shortest_dec.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "freq.h"
#include "jsonbuild.h"

void
tsf_json_begin_object(TsfJson *js)
{
	pushJsonbValue(js, WJB_BEGIN_OBJECT, NULL);
}

void
tsf_json_end_object(TsfJson *js)
{
	pushJsonbValue(js, WJB_END_OBJECT, NULL);
}

void
tsf_json_begin_array(TsfJson *js)
{
	pushJsonbValue(js, WJB_BEGIN_ARRAY, NULL);
}

void
tsf_json_end_array(TsfJson *js)
{
	pushJsonbValue(js, WJB_END_ARRAY, NULL);
}

/* the outermost object, ended, as a jsonb */
Jsonb *
tsf_json_finish(TsfJson *js)
{
	return JsonbValueToJsonb(pushJsonbValue(js, WJB_END_OBJECT, NULL));
}

/* {} */
Jsonb *
tsf_jsonb_empty_object(void)
{
	TsfJson		js = NULL;

	tsf_json_begin_object(&js);
	return tsf_json_finish(&js);
}

/* push a scalar: a member's value inside an object, an element in an array */
static void
scalar(TsfJson *js, JsonbValue *v)
{
	pushJsonbValue(js, (*js)->contVal.type == jbvArray ? WJB_ELEM : WJB_VALUE, v);
}

void
tsf_json_key(TsfJson *js, const char *key)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(js, WJB_KEY, &v);
}

/* a float8: its shortest exact decimal, null for NaN or infinity */
void
tsf_json_num(TsfJson *js, double x)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(x))
		v.type = jbvNull;
	else
	{
		double_to_shortest_decimal_buf(x, buf);
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
															ObjectIdGetDatum(InvalidOid),
															Int32GetDatum(-1)));
	}
	scalar(js, &v);
}

void
tsf_json_int(TsfJson *js, int64 x)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(x);
	scalar(js, &v);
}

/* a string, copied: pushJsonbValue keeps the pointer, not the characters */
void
tsf_json_str(TsfJson *js, const char *s)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */

	v.type = jbvString;
	v.val.string.val = pstrdup(s);
	v.val.string.len = strlen(s);
	scalar(js, &v);
}

void
tsf_json_bool(TsfJson *js, bool b)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */

	v.type = jbvBool;
	v.val.boolean = b;
	scalar(js, &v);
}

void
tsf_json_null(TsfJson *js)
{
	JsonbValue	v = {0};		/* all of it: pushJsonbValue copies the whole struct */

	v.type = jbvNull;
	scalar(js, &v);
}

/* a timestamp as its ISO text (json's), or an integer index as a number */
void
tsf_json_ts(TsfJson *js, int ts_type, int64 ts)
{
	char		buf[MAXDATELEN + 1];

	if (ts_type == TSF_TS_INT8)
	{
		tsf_json_int(js, ts);
		return;
	}
	JsonEncodeDateTime(buf, ts_type == TSF_TS_DATE ? DateADTGetDatum((DateADT) ts) :
					   TimestampTzGetDatum(ts),
					   ts_type == TSF_TS_DATE ? DATEOID : TIMESTAMPTZOID, NULL);
	tsf_json_str(js, buf);
}

void
tsf_json_kv_num(TsfJson *js, const char *key, double x)
{
	tsf_json_key(js, key);
	tsf_json_num(js, x);
}

void
tsf_json_kv_int(TsfJson *js, const char *key, int64 x)
{
	tsf_json_key(js, key);
	tsf_json_int(js, x);
}

void
tsf_json_kv_str(TsfJson *js, const char *key, const char *s)
{
	tsf_json_key(js, key);
	tsf_json_str(js, s);
}

void
tsf_json_kv_bool(TsfJson *js, const char *key, bool b)
{
	tsf_json_key(js, key);
	tsf_json_bool(js, b);
}

/* key: [v[0], ..., v[n-1]] */
void
tsf_json_kv_doubles(TsfJson *js, const char *key, const double *v, size_t n)
{
	tsf_json_key(js, key);
	tsf_json_begin_array(js);
	for (size_t i = 0; i < n; i++)
		tsf_json_num(js, v[i]);
	tsf_json_end_array(js);
}

/* obj (a jsonb object) with key set to value: jsonb_set's, for one key */
Jsonb *
tsf_jsonb_with_key(Jsonb *obj, const char *key, Jsonb *value)
{
	Datum		k = CStringGetTextDatum(key);

	return DatumGetJsonbP(DirectFunctionCall4(jsonb_set, JsonbPGetDatum(obj),
											  PointerGetDatum(construct_array(&k, 1, TEXTOID, -1, false,
																			  TYPALIGN_INT)),
											  JsonbPGetDatum(value), BoolGetDatum(true)));
}

/* the jsonb value of obj's key, or NULL where obj has none */
Jsonb *
tsf_jsonb_key(Jsonb *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &v) == NULL)
		return NULL;
	return JsonbValueToJsonb(&v);
}

/*
 * Whether a and b are the same bytes: what an aggregate asks of the jsonb
 * arguments of its rows (backtest(), model_update()), which are the same
 * value on every row when they are the same constant or the same column of
 * a group.  Equal objects written differently count as different.
 */
bool
tsf_jsonb_same(const Jsonb *a, const Jsonb *b)
{
	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

/* a copy of j in cxt */
Jsonb *
tsf_jsonb_copy(MemoryContext cxt, const Jsonb *j)
{
	Jsonb	   *c = MemoryContextAlloc(cxt, VARSIZE(j));

	memcpy(c, j, VARSIZE(j));
	return c;
}
