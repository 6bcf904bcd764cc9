/*
 * model.c
 *		The tsmodel type: stored format, text and binary I/O, jsonb views.
 *
 * A tsmodel is a varlena whose bytes are the model's stored format, the same
 * bytes in every representation: on disk, in COPY BINARY (send/receive) and,
 * base64-encoded, in text.  Every reader goes through
 * tsf_model_deserialize(), which checks each field and the exact length, so
 * a corrupt or hostile value is an error (XX001 on disk, 22P02 from text
 * or the wire), never a crash or an over-read.
 *
 * Stored format, version 1, little-endian, no padding:
 *
 *	offset	size	field
 *	0		4		magic "TSFM" (0x4D465354)
 *	4		2		format version (1)
 *	6		2		kind: 1 AR, 2 LSTM
 *	8		1		ts type: 1 timestamptz, 2 date, 3 bigint
 *	9		1		frequency unit: 1 fixed, 2 calendar days, 3 months
 *	10		1		transform: 0 none, 1 log
 *	11		1		fill: 0 none, 1 linear, 2 previous
 *	12		8		frequency step (usec, days or index units; days; months)
 *	20		8		first training timestamp (in the ts type's own unit)
 *	28		8		last training timestamp
 *	36		8		n, training points on the grid (including filled ones)
 *	44		8		of which filled
 *	52		8		fit time, seconds (float8)
 *	60		8		fitted at (timestamptz)
 *	68		...		the kind's payload
 *
 * AR payload: method (1: 0 ols, 1 yule_walker), intercept (1), max order
 * searched (4, 0 when fixed), order p (4), nobs (8), c, mean, sigma2, aic
 * (4 x float8), phi[p] (float8), last p transformed values (float8, oldest
 * first).
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "common/base64.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "common/shortest_dec.h"

#include <ctype.h>

#define HEADER_SIZE		68

PG_FUNCTION_INFO_V1(tsf_model_in);
PG_FUNCTION_INFO_V1(tsf_model_out);
PG_FUNCTION_INFO_V1(tsf_model_recv);
PG_FUNCTION_INFO_V1(tsf_model_send);
PG_FUNCTION_INFO_V1(tsf_model_to_jsonb);
PG_FUNCTION_INFO_V1(tsf_model_info);

/* ---- little-endian writer ---- */

static void
put_u8(StringInfo b, uint8 v)
{
	appendBinaryStringInfo(b, (char *) &v, 1);
}

static void
put_u16(StringInfo b, uint16 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 2);
}

static void
put_u32(StringInfo b, uint32 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 4);
}

static void
put_i64(StringInfo b, int64 v)
{
	uint64		u = (uint64) v;

#ifdef WORDS_BIGENDIAN
	u = pg_bswap64(u);
#endif
	appendBinaryStringInfo(b, (char *) &u, 8);
}

static void
put_f64(StringInfo b, double v)
{
	uint64		u;

	memcpy(&u, &v, 8);
	put_i64(b, (int64) u);
}

/* ---- bounds-checked reader ---- */

typedef struct Reader
{
	const uint8 *p;
	Size		left;
	int			sqlstate;		/* what a malformed value raises */
} Reader;

/* the one error of the reader: which SQLSTATE depends on where the bytes came from */
static void
corrupt(Reader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(r->sqlstate),
			 r->sqlstate == ERRCODE_DATA_CORRUPTED ?
			 errmsg("invalid tsforecast model") :
			 errmsg("invalid input syntax for type tsmodel"),
			 errdetail_internal("%s", detail)));
}

static const uint8 *
take(Reader *r, Size n)
{
	const uint8 *p = r->p;

	if (r->left < n)
		corrupt(r, "The value is truncated.");
	r->p += n;
	r->left -= n;
	return p;
}

static uint8
get_u8(Reader *r)
{
	return *take(r, 1);
}

static uint16
get_u16(Reader *r)
{
	uint16		v;

	memcpy(&v, take(r, 2), 2);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	return v;
}

static uint32
get_u32(Reader *r)
{
	uint32		v;

	memcpy(&v, take(r, 4), 4);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	return v;
}

static int64
get_i64(Reader *r)
{
	uint64		v;

	memcpy(&v, take(r, 8), 8);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap64(v);
#endif
	return (int64) v;
}

static double
get_f64(Reader *r)
{
	int64		i = get_i64(r);
	double		v;

	memcpy(&v, &i, 8);
	return v;
}

static double
get_finite(Reader *r, const char *what)
{
	double		v = get_f64(r);

	if (!isfinite(v))
		corrupt(r, psprintf("Field \"%s\" is not finite.", what));
	return v;
}

/* ---- format ---- */

bytea *
tsf_model_serialize(const TsfModel *m)
{
	StringInfoData b;
	bytea	   *result;

	initStringInfo(&b);
	appendStringInfoSpaces(&b, VARHDRSZ);
	put_u32(&b, TSF_MODEL_MAGIC);
	put_u16(&b, TSF_MODEL_VERSION);
	put_u16(&b, (uint16) m->kind);
	put_u8(&b, (uint8) m->ts_type);
	put_u8(&b, (uint8) m->freq.unit);
	put_u8(&b, (uint8) m->transform);
	put_u8(&b, (uint8) m->fill);
	put_i64(&b, m->freq.step);
	put_i64(&b, m->first_ts);
	put_i64(&b, m->last_ts);
	put_i64(&b, m->n);
	put_i64(&b, m->n_filled);
	put_f64(&b, m->fit_seconds);
	put_i64(&b, m->fitted_at);
	Assert(b.len == VARHDRSZ + HEADER_SIZE);

	switch (m->kind)
	{
		case TSF_KIND_AR:
			put_u8(&b, (uint8) m->ar_method);
			put_u8(&b, (uint8) m->ar.intercept);
			put_u32(&b, (uint32) m->ar_max_order);
			put_u32(&b, (uint32) m->ar.p);
			put_i64(&b, m->ar.nobs);
			put_f64(&b, m->ar.c);
			put_f64(&b, m->ar.mean);
			put_f64(&b, m->ar.sigma2);
			put_f64(&b, m->ar.aic);
			for (int i = 0; i < m->ar.p; i++)
				put_f64(&b, m->ar.phi[i]);
			for (int i = 0; i < m->ar.p; i++)
				put_f64(&b, m->ar_hist[i]);
			break;
		default:
			elog(ERROR, "unexpected model kind %d", m->kind);
	}

	result = (bytea *) b.data;
	SET_VARSIZE(result, b.len);
	return result;
}

/*
 * Parse and validate the stored format.  Arrays in *m are palloc'd in the
 * current memory context.  Raises XX001 on anything out of place.
 */
void
tsf_model_deserialize(const char *data, Size len, TsfModel *m, int sqlstate)
{
	Reader		r = {(const uint8 *) data, len, sqlstate};
	uint32		magic;
	uint16		version;

	memset(m, 0, sizeof(*m));
	if (len < 6)
		corrupt(&r, "The value is truncated.");
	magic = get_u32(&r);
	if (magic != TSF_MODEL_MAGIC)
		corrupt(&r, "The value does not start with the tsmodel magic number.");
	version = get_u16(&r);
	if (version != TSF_MODEL_VERSION)
		corrupt(&r, psprintf("Unrecognized format version %u.", version));
	m->kind = get_u16(&r);
	m->ts_type = get_u8(&r);
	m->freq.unit = get_u8(&r);
	m->transform = get_u8(&r);
	m->fill = get_u8(&r);
	m->freq.step = get_i64(&r);
	m->first_ts = get_i64(&r);
	m->last_ts = get_i64(&r);
	m->n = get_i64(&r);
	m->n_filled = get_i64(&r);
	m->fit_seconds = get_finite(&r, "fit_seconds");
	m->fitted_at = get_i64(&r);

	if (m->ts_type < TSF_TS_TIMESTAMPTZ || m->ts_type > TSF_TS_INT8)
		corrupt(&r, "Unknown timestamp type.");
	if (!tsf_freq_valid(m->ts_type, &m->freq))
		corrupt(&r, "Invalid frequency.");
	if (m->transform > TSF_TRANSFORM_LOG || m->fill > TSF_FILL_PREVIOUS)
		corrupt(&r, "Unknown transform or fill.");
	if (m->n < 1 || m->n > TSF_MAX_POINTS || m->n_filled < 0 || m->n_filled >= m->n)
		corrupt(&r, "Invalid number of training points.");
	if (m->first_ts > m->last_ts || m->fit_seconds < 0 ||
		!tsf_ts_valid(m->ts_type, m->first_ts) ||
		!tsf_ts_valid(m->ts_type, m->last_ts) ||
		!tsf_ts_valid(TSF_TS_TIMESTAMPTZ, m->fitted_at))
		corrupt(&r, "Invalid training range.");
	if (m->freq.unit == TSF_FREQ_FIXED)
	{
		int64		span;

		if (pg_sub_s64_overflow(m->last_ts, m->first_ts, &span) ||
			span / m->freq.step != m->n - 1 || span % m->freq.step != 0)
			corrupt(&r, "The training range does not match the number of points.");
	}

	switch (m->kind)
	{
		case TSF_KIND_AR:
			{
				uint32		p;
				int64		nobs;

				m->ar_method = get_u8(&r);
				m->ar.intercept = get_u8(&r);
				m->ar_max_order = get_u32(&r);
				p = get_u32(&r);
				nobs = get_i64(&r);
				if (m->ar_method > TSF_AR_YULE_WALKER || m->ar.intercept > 1)
					corrupt(&r, "Unknown AR method.");
				if (p > TSF_AR_MAX_ORDER || (int64) p >= m->n ||
					m->ar_max_order > TSF_AR_MAX_ORDER)
					corrupt(&r, "Invalid AR order.");
				if (nobs < 1 || nobs > m->n)
					corrupt(&r, "Invalid number of observations.");
				m->ar.p = (int) p;
				m->ar.nobs = (int) nobs;
				m->ar.c = get_finite(&r, "c");
				m->ar.mean = get_finite(&r, "mean");
				m->ar.sigma2 = get_finite(&r, "sigma2");
				m->ar.aic = get_f64(&r);
				if (m->ar.sigma2 < 0 || isnan(m->ar.aic))
					corrupt(&r, "Invalid AR variance.");
				/* bound the allocations by what is really there */
				if (r.left != (Size) p * 16)
					corrupt(&r, "The AR payload has the wrong length.");
				m->ar.phi = palloc(sizeof(double) * (p + 1));
				m->ar_hist = palloc(sizeof(double) * (p + 1));
				for (uint32 i = 0; i < p; i++)
					m->ar.phi[i] = get_finite(&r, "phi");
				for (uint32 i = 0; i < p; i++)
					m->ar_hist[i] = get_finite(&r, "history");
				break;
			}
		default:
			corrupt(&r, psprintf("Unknown model kind %d.", m->kind));
	}
	if (r.left != 0)
		corrupt(&r, "The value has trailing bytes.");
}

TsfModel *
tsf_model_from_datum(Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);
	TsfModel   *m = palloc(sizeof(TsfModel));

	tsf_model_deserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), m, ERRCODE_DATA_CORRUPTED);
	return m;
}

/* a varlena copy of bytes that came from outside, once they pass the reader */
static bytea *
validated_copy(const char *data, Size len, int sqlstate)
{
	bytea	   *result;
	TsfModel	m;

	tsf_model_deserialize(data, len, &m, sqlstate);
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return result;
}

/*
 * text form: base64 of the stored format.  Whitespace is skipped, so the
 * line-wrapped output of encode(..., 'base64') reads back too.
 */
Datum
tsf_model_in(PG_FUNCTION_ARGS)
{
	char	   *raw = PG_GETARG_CSTRING(0);
	char	   *str = palloc(strlen(raw) + 1);
	int			slen = 0;
	int			cap;
	char	   *buf;
	int			len;

	for (const char *c = raw; *c; c++)
		if (!isspace((unsigned char) *c))
			str[slen++] = *c;
	str[slen] = '\0';
	cap = pg_b64_dec_len(slen);
	buf = palloc(cap + 1);
	len = pg_b64_decode(str, slen, buf, cap);
	if (len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tsmodel"),
				 errdetail("The text form of a model is base64.")));
	PG_RETURN_BYTEA_P(validated_copy(buf, len, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

Datum
tsf_model_out(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	int			len = VARSIZE_ANY_EXHDR(b);
	int			cap = pg_b64_enc_len(len);
	char	   *out = palloc(cap + 1);
	int			olen = pg_b64_encode(VARDATA_ANY(b), len, out, cap);

	if (olen < 0)
		elog(ERROR, "could not encode tsmodel");
	out[olen] = '\0';
	PG_RETURN_CSTRING(out);
}

Datum
tsf_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);

	PG_RETURN_BYTEA_P(validated_copy(data, len, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

Datum
tsf_model_send(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---- jsonb views ---- */

static void
json_key(StringInfo b, const char *key)
{
	if (b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
		appendStringInfoChar(b, ',');
	escape_json(b, key);
	appendStringInfoChar(b, ':');
}

/* a float8 as JSON: shortest exact decimal, null for NaN or infinity */
static void
json_num(StringInfo b, double v)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
	{
		appendStringInfoString(b, "null");
		return;
	}
	double_to_shortest_decimal_buf(v, buf);
	appendStringInfoString(b, buf);
}

static void
json_str(StringInfo b, const char *s)
{
	escape_json(b, s);
}

static void
json_ts(StringInfo b, int ts_type, int64 ts)
{
	if (ts_type == TSF_TS_INT8)
		appendStringInfo(b, INT64_FORMAT, ts);
	else
	{
		char		buf[MAXDATELEN + 1];
		Oid			typid = ts_type == TSF_TS_DATE ? DATEOID : TIMESTAMPTZOID;
		Datum		d = ts_type == TSF_TS_DATE ? DateADTGetDatum((DateADT) ts)
			: TimestampTzGetDatum(ts);

		JsonEncodeDateTime(buf, d, typid, NULL);
		json_str(b, buf);
	}
}

static void
json_array(StringInfo b, const double *v, int n)
{
	appendStringInfoChar(b, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(b, ',');
		json_num(b, v[i]);
	}
	appendStringInfoChar(b, ']');
}

/*
 * The summary model_info() returns; with full = true (the jsonb cast) also
 * the format version and the stored history, i.e. everything in the value.
 */
static Jsonb *
model_to_jsonb(const TsfModel *m, bool full)
{
	StringInfoData b;
	static const char *const methods[] = {"ols", "yule_walker"};

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	json_key(&b, "kind");
	json_str(&b, m->kind == TSF_KIND_AR ? "ar" : "lstm");
	if (full)
	{
		json_key(&b, "format_version");
		appendStringInfo(&b, "%d", TSF_MODEL_VERSION);
	}
	json_key(&b, "n");
	appendStringInfo(&b, INT64_FORMAT, m->n);
	json_key(&b, "n_filled");
	appendStringInfo(&b, INT64_FORMAT, m->n_filled);
	json_key(&b, "ts_type");
	json_str(&b, tsf_ts_type_name(m->ts_type));
	json_key(&b, "first_ts");
	json_ts(&b, m->ts_type, m->first_ts);
	json_key(&b, "last_ts");
	json_ts(&b, m->ts_type, m->last_ts);
	json_key(&b, "frequency");
	json_str(&b, tsf_freq_name(m->ts_type, &m->freq));
	json_key(&b, "transform");
	json_str(&b, tsf_transform_names[m->transform]);
	json_key(&b, "fill");
	json_str(&b, tsf_fill_names[m->fill]);
	json_key(&b, "fit_seconds");
	json_num(&b, m->fit_seconds);
	json_key(&b, "fitted_at");
	json_ts(&b, TSF_TS_TIMESTAMPTZ, m->fitted_at);
	json_key(&b, "device");
	json_str(&b, "cpu");
	json_key(&b, "version");
	json_str(&b, TSF_VERSION_STR);

	if (m->kind == TSF_KIND_AR)
	{
		json_key(&b, "method");
		json_str(&b, methods[m->ar_method]);
		json_key(&b, "order");
		appendStringInfo(&b, "%d", m->ar.p);
		json_key(&b, "order_selection");
		json_str(&b, m->ar_max_order > 0 ? "aic" : "fixed");
		if (m->ar_max_order > 0)
		{
			json_key(&b, "max_order");
			appendStringInfo(&b, "%d", m->ar_max_order);
		}
		json_key(&b, "intercept");
		appendStringInfoString(&b, m->ar.intercept ? "true" : "false");
		json_key(&b, "constant");
		json_num(&b, m->ar.c);
		if (m->ar_method == TSF_AR_YULE_WALKER)
		{
			json_key(&b, "mean");
			json_num(&b, m->ar.mean);
		}
		json_key(&b, "coefficients");
		json_array(&b, m->ar.phi, m->ar.p);
		json_key(&b, "sigma2");
		json_num(&b, m->ar.sigma2);
		json_key(&b, "aic");
		json_num(&b, m->ar.aic);
		json_key(&b, "nobs");
		appendStringInfo(&b, "%d", m->ar.nobs);
		if (full)
		{
			json_key(&b, "history");
			json_array(&b, m->ar_hist, m->ar.p);
		}
	}
	appendStringInfoChar(&b, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

Datum
tsf_model_to_jsonb(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(model_to_jsonb(tsf_model_from_datum(PG_GETARG_DATUM(0)), true));
}

Datum
tsf_model_info(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(model_to_jsonb(tsf_model_from_datum(PG_GETARG_DATUM(0)), false));
}

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
