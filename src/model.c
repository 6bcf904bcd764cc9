/*
 * model.c
 *		The tsmodel type: the stored format, text and binary I/O, jsonb
 *		views.  What every kind shares is here; each kind's payload is
 *		written, read and shown by its own routines (kind.h).
 *
 * A tsmodel is a varlena whose bytes are the model's stored format, the same
 * bytes in every representation: on disk, in COPY BINARY (send/receive) and,
 * base64-encoded, in text.  Every reader goes through
 * tsf_model_deserialize(), which checks each field and the exact length, so
 * a corrupt or hostile value is an error (XX001 on disk, 22P02 from text,
 * 22P03 from the wire), never a crash or an over-read; and every writer
 * reads back what it wrote before returning it, so that nothing is stored
 * that the reader would refuse.
 *
 * Stored format, version 2, little-endian, no padding:
 *
 *	offset	size	field
 *	0		4		magic "TSFM" (0x4D465354)
 *	4		2		format version (2; 1 is read too)
 *	6		2		kind: 1 AR (model_ar.c), 2 LSTM (model_lstm.c), 3 a
 *					combination (model_combine.c), 4 an automatic spec's
 *					choice (model_auto.c; since 0.6.0: older readers refuse
 *					them as unknown kinds)
 *	8		1		ts type: 1 timestamptz, 2 date, 3 bigint
 *	9		1		frequency unit: 1 fixed, 2 calendar days, 3 months,
 *					4 month ends (after 0.4.0)
 *	10		1		transform: 0 none, 1 log
 *	11		1		fill: 0 none, 1 linear, 2 previous
 *	12		8		frequency step (usec, days or index units; days; months;
 *					months)
 *	20		8		first training timestamp (in the ts type's own unit)
 *	28		8		last training timestamp
 *	36		8		n, training points on the grid (including filled ones)
 *	44		8		of which filled
 *	52		8		fit time, seconds (float8)
 *	60		8		fitted at (timestamptz)
 *	68		1		trained on: 0 the CPU, 1 a GPU (the CUDA backend)
 *	69		...		the kind's payload: see the kind's file
 *
 * Version 3 (since 0.6.0) is written only for a model whose state
 * model_update() moved past its training data: at 69 it holds n_after (8),
 * the grid steps the state is past the last training timestamp (at least
 * 1), and the payload starts at 77.  Every other model is still written as
 * version 2, which 0.4.0 and 0.5.0 read.
 *
 * Month ends (unit 4) did not change the version: only models of such a
 * series carry the new value, and a reader that predates it refuses them as
 * an invalid frequency, while every other model stays readable by it.
 *
 * Version 1 (0.1.0 to 0.3.0) is the same without the byte at 68: the
 * payload starts there, and such a model was trained on the CPU.  The
 * kinds' files give version 2's offsets; subtract 1 for version 1, add 8
 * for version 3.
 *
 * Every count is bounded and the payload's length must be exactly what the
 * counts imply before anything is allocated, so a hostile value can neither
 * over-read nor ask for a huge allocation.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "common/base64.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "kind.h"
#include "guard.h"
#include "model.h"
#include "options.h"
#include "series.h"
#include "tsforecast.h"

PG_FUNCTION_INFO_V1(tsf_model_in);
PG_FUNCTION_INFO_V1(tsf_model_out);
PG_FUNCTION_INFO_V1(tsf_model_recv);
PG_FUNCTION_INFO_V1(tsf_model_send);
PG_FUNCTION_INFO_V1(tsf_model_to_jsonb);
PG_FUNCTION_INFO_V1(tsf_model_info);

/* ---- little-endian writer ---- */

void
tsf_write_u8(StringInfo b, uint8 v)
{
	appendBinaryStringInfo(b, (char *) &v, 1);
}

void
tsf_write_u16(StringInfo b, uint16 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 2);
}

void
tsf_write_u32(StringInfo b, uint32 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 4);
}

void
tsf_write_i64(StringInfo b, int64 v)
{
	uint64		u = (uint64) v;

#ifdef WORDS_BIGENDIAN
	u = pg_bswap64(u);
#endif
	appendBinaryStringInfo(b, (char *) &u, 8);
}

void
tsf_write_f64(StringInfo b, double v)
{
	uint64		u;

	memcpy(&u, &v, 8);
	tsf_write_i64(b, (int64) u);
}

/* ---- bounds-checked reader ---- */

/*
 * The one error of the reader: its SQLSTATE and message depend on where the
 * bytes came from: disk (XX001), text or binary input (22P02, 22P03), or
 * the writer checking what it is about to return (XX000: a fit that
 * produced a value the reader refuses is a bug, since nothing may be
 * stored that cannot be read back).
 */
void
tsf_read_corrupt(TsfReader *r, const char *detail)
{
	if (r->sqlstate == ERRCODE_INTERNAL_ERROR)
		ereport(ERROR,
				(errcode(r->sqlstate),
				 errmsg("trained model fails its own validation"),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(r->sqlstate),
			 r->sqlstate == ERRCODE_DATA_CORRUPTED ?
			 errmsg("invalid tsforecast model") :
			 errmsg("invalid input syntax for type tsmodel"),
			 errdetail_internal("%s", detail)));
}

static const uint8 *
take(TsfReader *r, Size n)
{
	const uint8 *p = r->p;

	if (r->left < n)
		tsf_read_corrupt(r, "The value is truncated.");
	r->p += n;
	r->left -= n;
	return p;
}

uint8
tsf_read_u8(TsfReader *r)
{
	return *take(r, 1);
}

uint16
tsf_read_u16(TsfReader *r)
{
	uint16		v;

	memcpy(&v, take(r, 2), 2);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	return v;
}

uint32
tsf_read_u32(TsfReader *r)
{
	uint32		v;

	memcpy(&v, take(r, 4), 4);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	return v;
}

int64
tsf_read_i64(TsfReader *r)
{
	uint64		v;

	memcpy(&v, take(r, 8), 8);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap64(v);
#endif
	return (int64) v;
}

double
tsf_read_f64(TsfReader *r)
{
	int64		i = tsf_read_i64(r);
	double		v;

	memcpy(&v, &i, 8);
	return v;
}

double
tsf_read_finite(TsfReader *r, const char *what)
{
	double		v = tsf_read_f64(r);

	if (!isfinite(v))
		tsf_read_corrupt(r, psprintf("Field \"%s\" is not finite.", what));
	return v;
}

/* a u32 field that must lie in [lo, hi] */
int
tsf_read_bounded(TsfReader *r, uint32 lo, uint32 hi, const char *what)
{
	uint32		v = tsf_read_u32(r);

	if (v < lo || v > hi)
		tsf_read_corrupt(r, psprintf("Field \"%s\" is out of range.", what));
	return (int) v;
}

/* ---- format ---- */

/* the common fields of a model of kind fitted on s; payload is the kind's */
void
tsf_model_init(TsfModel *m, const TsfKind *kind, const TsfSeries *s, int transform,
			   int fill, void *payload)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->ts_type = s->ts_type;
	m->freq = s->freq;
	m->first_ts = s->first_ts;
	m->last_ts = s->last_ts;
	m->n = s->n;
	m->n_filled = s->n_filled;
	m->transform = transform;
	m->fill = fill;
	m->device = TSF_TRAINED_CPU;
	m->format_version = 2;
	m->payload = payload;
}

/*
 * The stored bytes of m.  They are read back before they are returned: a
 * value the reader would refuse is never stored (where a fit could produce
 * one, it checks first and says why; this is the last line).
 */
bytea *
tsf_model_serialize(const TsfModel *m)
{
	StringInfoData b;
	bytea	   *result;
	TsfModel	check;
	int			version = m->n_after > 0 ? 3 : 2;
	int			header = version == 3 ? TSF_MODEL_HEADER_SIZE_V3 : TSF_MODEL_HEADER_SIZE;
	double		size = VARHDRSZ + header + m->kind->stored_bytes(m);

	if (size > (double) (MaxAllocSize - 64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would be too large to store"),
				 errdetail("It would take %s, and a value may take at most 1 GB.",
						   tsf_size_pretty(size))));
	initStringInfo(&b);
	enlargeStringInfo(&b, (int) size);
	appendStringInfoSpaces(&b, VARHDRSZ);
	tsf_write_u32(&b, TSF_MODEL_MAGIC);
	tsf_write_u16(&b, (uint16) version);
	tsf_write_u16(&b, (uint16) m->kind->id);
	tsf_write_u8(&b, (uint8) m->ts_type);
	tsf_write_u8(&b, (uint8) m->freq.unit);
	tsf_write_u8(&b, (uint8) m->transform);
	tsf_write_u8(&b, (uint8) m->fill);
	tsf_write_i64(&b, m->freq.step);
	tsf_write_i64(&b, m->first_ts);
	tsf_write_i64(&b, m->last_ts);
	tsf_write_i64(&b, m->n);
	tsf_write_i64(&b, m->n_filled);
	tsf_write_f64(&b, m->fit_seconds);
	tsf_write_i64(&b, m->fitted_at);
	tsf_write_u8(&b, (uint8) m->device);
	if (version == 3)
		tsf_write_i64(&b, m->n_after);
	Assert(b.len == VARHDRSZ + header);
	m->kind->write(&b, m);

	result = (bytea *) b.data;
	SET_VARSIZE(result, b.len);
	Assert(b.len == (int) size);
	tsf_model_deserialize(VARDATA(result), b.len - VARHDRSZ, &check, ERRCODE_INTERNAL_ERROR);
	tsf_model_free(&check);
	return result;
}

/* free the arrays the reader allocated for m */
void
tsf_model_free(TsfModel *m)
{
	if (m->kind && m->payload)
		m->kind->free(m);
	m->payload = NULL;
}

/*
 * Parse and validate the stored format.  The payload is palloc'd in the
 * current memory context.  Raises sqlstate on anything out of place.
 */
static void
deserialize_at(const char *data, Size len, TsfModel *m, int sqlstate, int depth)
{
	TsfReader	r = {(const uint8 *) data, len, sqlstate, depth};
	uint32		magic;
	uint16		version;
	uint16		kind;

	memset(m, 0, sizeof(*m));
	if (len < 6)
		tsf_read_corrupt(&r, "The value is truncated.");
	magic = tsf_read_u32(&r);
	if (magic != TSF_MODEL_MAGIC)
		tsf_read_corrupt(&r, "The value does not start with the tsmodel magic number.");
	version = tsf_read_u16(&r);
	if (version < 1 || version > TSF_MODEL_VERSION)
		tsf_read_corrupt(&r, psprintf("Unrecognized format version %u.", version));
	m->format_version = version;
	kind = tsf_read_u16(&r);
	m->ts_type = tsf_read_u8(&r);
	m->freq.unit = tsf_read_u8(&r);
	m->transform = tsf_read_u8(&r);
	m->fill = tsf_read_u8(&r);
	m->freq.step = tsf_read_i64(&r);
	m->first_ts = tsf_read_i64(&r);
	m->last_ts = tsf_read_i64(&r);
	m->n = tsf_read_i64(&r);
	m->n_filled = tsf_read_i64(&r);
	m->fit_seconds = tsf_read_finite(&r, "fit_seconds");
	m->fitted_at = tsf_read_i64(&r);
	m->device = version >= 2 ? tsf_read_u8(&r) : TSF_TRAINED_CPU;
	if (m->device != TSF_TRAINED_CPU && m->device != TSF_TRAINED_CUDA)
		tsf_read_corrupt(&r, "Unknown training device.");
	m->n_after = version >= 3 ? tsf_read_i64(&r) : 0;

	if (m->ts_type < TSF_TS_TIMESTAMPTZ || m->ts_type > TSF_TS_INT8)
		tsf_read_corrupt(&r, "Unknown timestamp type.");
	if (!tsf_freq_valid(m->ts_type, &m->freq))
		tsf_read_corrupt(&r, "Invalid frequency.");
	if (m->transform > TSF_TRANSFORM_LOG || m->fill > TSF_FILL_PREVIOUS)
		tsf_read_corrupt(&r, "Unknown transform or fill.");
	if (m->n < 1 || m->n > TSF_MAX_POINTS || m->n_filled < 0 || m->n_filled >= m->n)
		tsf_read_corrupt(&r, "Invalid number of training points.");
	/* version 3 is written only for a moved state; its span stays bounded */
	if ((version >= 3 && m->n_after < 1) || m->n_after > TSF_MAX_POINTS - m->n)
		tsf_read_corrupt(&r, "Invalid number of steps after the training data.");
	if (m->first_ts > m->last_ts || m->fit_seconds < 0 ||
		!tsf_ts_valid(m->ts_type, m->first_ts) ||
		!tsf_ts_valid(m->ts_type, m->last_ts) ||
		!tsf_ts_valid(TSF_TS_TIMESTAMPTZ, m->fitted_at))
		tsf_read_corrupt(&r, "Invalid training range.");
	if (m->freq.unit == TSF_FREQ_FIXED)
	{
		int64		span;

		if (pg_sub_s64_overflow(m->last_ts, m->first_ts, &span) ||
			span / m->freq.step != m->n - 1 || span % m->freq.step != 0)
			tsf_read_corrupt(&r, "The training range does not match the number of points.");
	}

	m->kind = tsf_kind_by_id(kind);
	if (m->kind == NULL)
		tsf_read_corrupt(&r, psprintf("Unknown model kind %d.", kind));
	m->kind->read(&r, m);
	if (r.left != 0)
		tsf_read_corrupt(&r, "The value has trailing bytes.");
}

void
tsf_model_deserialize(const char *data, Size len, TsfModel *m, int sqlstate)
{
	deserialize_at(data, len, m, sqlstate, 0);
}

void
tsf_read_nested(TsfReader *r, Size len, TsfModel *m)
{
	const uint8 *p;

	if (r->depth >= TSF_MAX_NESTING)
		tsf_read_corrupt(r, "The model's combinations are nested too deeply.");
	if (r->left < len)
		tsf_read_corrupt(r, "The value is truncated.");
	p = r->p;
	r->p += len;
	r->left -= len;
	deserialize_at((const char *) p, len, m, r->sqlstate, r->depth + 1);
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
	tsf_model_free(&m);
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

/* bytes a number of a model's jsonb view takes while it is built */
#define JSONB_BYTES_PER_NUMBER	128

/*
 * The summary model_info() returns; with full = true (the jsonb cast) also
 * the format version and everything the kind stores.  The numbers of a full
 * view (a network's parameters: about a hundred bytes each as jsonb) are
 * checked against tsforecast.max_memory before they are built (a
 * combination's members' numbers are its own).  These are its keys, into js.
 */
static void
model_view_keys(TsfJson *js, const TsfModel *m, bool full)
{
	if (full)
	{
		double		numbers = m->kind->json_numbers(m);

		tsf_check_memory(JSONB_BYTES_PER_NUMBER * numbers, TSF_MEM_JSON,
						 psprintf("The model holds %.0f numbers.", numbers));
	}
	tsf_json_kv_str(js, "kind", m->kind->name);
	if (full)
		tsf_json_kv_int(js, "format_version", m->format_version);
	tsf_json_kv_int(js, "n", m->n);
	tsf_json_kv_int(js, "n_filled", m->n_filled);
	tsf_json_kv_str(js, "ts_type", tsf_ts_type_name(m->ts_type));
	tsf_json_key(js, "first_ts");
	tsf_json_ts(js, m->ts_type, m->first_ts);
	tsf_json_key(js, "last_ts");
	tsf_json_ts(js, m->ts_type, m->last_ts);
	if (m->n_after > 0)
	{
		/* where model_update() moved the state: the forecasts start after it */
		tsf_json_kv_int(js, "updated_steps", m->n_after);
		tsf_json_key(js, "updated_to");
		tsf_json_ts(js, m->ts_type,
					tsf_freq_advance(m->ts_type, &m->freq, m->first_ts,
									 tsf_model_next_step(m) - 1));
	}
	tsf_json_kv_str(js, "frequency", tsf_freq_name(m->ts_type, &m->freq));
	tsf_json_kv_str(js, "transform", tsf_transform_names[m->transform]);
	tsf_json_kv_str(js, "fill", tsf_fill_names[m->fill]);
	tsf_json_kv_num(js, "fit_seconds", m->fit_seconds);
	tsf_json_key(js, "fitted_at");
	tsf_json_ts(js, TSF_TS_TIMESTAMPTZ, m->fitted_at);
	tsf_json_kv_str(js, "device", m->device == TSF_TRAINED_CUDA ? "cuda" : "cpu");
	tsf_json_kv_str(js, "version", TSF_VERSION_STR);
	m->kind->to_jsonb(js, m, full);
}

/* m's view as the next value of js: a combination's member */
void
tsf_model_view(TsfJson *js, const TsfModel *m, bool full)
{
	tsf_json_begin_object(js);
	model_view_keys(js, m, full);
	tsf_json_end_object(js);
}

static Jsonb *
model_to_jsonb(const TsfModel *m, bool full)
{
	TsfJson		js = NULL;

	tsf_json_begin_object(&js);
	model_view_keys(&js, m, full);
	return tsf_json_finish(&js);
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
