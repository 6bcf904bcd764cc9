/*
 * fuzz_model.c
 *		libFuzzer target of the stored-model reader, tsf_model_deserialize()
 *		in src/model.c, built from the extension's own C (src/model.c,
 *		src/freq.c, src/lstm_model.c, the files of src/nn) against the server's
 *		headers and the shim in pg_shim.c (see run.sh).
 *
 * Each input is a candidate stored value (the bytes of a tsmodel, as
 * tsmodel_send() gives them).  Beyond "no crash, no AddressSanitizer or
 * UndefinedBehaviorSanitizer report, no call into a stubbed server
 * function", every input is held to these properties; a failure prints
 * what broke and aborts, so libFuzzer saves the input as a crash file:
 *
 *	rejected	the only way out is the reader's own error: an ERROR with
 *				the SQLSTATE the caller asked for (XX001 here) and the
 *				message "invalid tsforecast model", never elog's XX000 nor
 *				another module's error;
 *	memory		the reader allocates no more than 2 * len + 4 KiB: every
 *				array is sized by counts checked against the exact length
 *				first (model.c's promise);
 *	(a)			an accepted value written again (tsf_model_serialize) is a
 *				value the reader accepts, and it is the input's bytes: the
 *				same bytes for format version 2, version 1's bytes upgraded
 *				(version 2, the device byte 0 at offset 68) for version 1.
 *				The one difference allowed is by design: the LSTM's
 *				parameters and state are read into tsf_real, so with the
 *				float32 core (the default) each is written back rounded to
 *				float32 (src/nn/README.md, "Precision"); a combination
 *				(kinds "combine" and "auto") holding an LSTM member, whose
 *				parameters are rounded the same way inside it, is held to
 *				the writer's fixed point only (written, read and written
 *				again: the same bytes);
 *	(b)			precision (on; TSF_FUZZ_CHECK_PRECISION=0 turns it off; it was off by default
 *				until the reader rejects these values; see README.md):
 *				every value of an accepted LSTM model that goes to the
 *				network core as it is stored, cast to tsf_real, is finite
 *				there: the parameters, the state, and last_value, the lag
 *				input of the first forecast step.  A float64 that is finite
 *				but beyond FLT_MAX (3.4e38) becomes infinity in the float32
 *				core (the default), and the forecasts NaN.  While (b) is
 *				off such an input is counted, and one with an infinite
 *				parameter or state value is not held to (a) either:
 *				written back it holds an infinity, which the reader
 *				refuses, the same defect seen from the writer's side.
 *
 * With TSF_FUZZ_EXPECT_ACCEPT=1 a rejection fails too: run.sh checks so
 * that every committed corpus file is a model the reader accepts.
 *
 * At exit the harness prints how many inputs it saw and accepted.
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "combine.h"
#include "kind.h"
#include "lstm.h"
#include "model.h"
#include "pg_shim.h"

/* port.h points these at src/port's; the harness has libc's */
#undef fprintf
#undef snprintf

/* the stored format (src/model.c's header comment) */
#define HEADER_V1			68	/* version 1: no device byte */
#define HEADER_V2			69
#define HEADER_V3			77	/* version 3: n_after after the device byte */
#define LSTM_FIXED_SIZE		156 /* LSTM payload before its arrays */
#define LSTM_LAST_Y_OFFSET	217 /* the scaled value at the last training step */

/* from the generated stubs.c */
extern const char *const tsf_fuzz_nodata_names[];
extern const char *const tsf_fuzz_nodata_pages[];

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void		tsf_fuzz_stub_called(const char *name) __attribute__((noreturn));

static bool check_precision;	/* property (b) */
static bool expect_accept;		/* every input must be accepted */

static struct
{
	unsigned long inputs,
				accepted,
				ar,
				lstm,
				combined,
				v1,
				overflow;		/* LSTM models with a value infinite in tsf_real */
} stats;

void
tsf_fuzz_stub_called(const char *name)
{
	shim_fail("the code under test called %s, a server function the fuzz target "
			  "stubs out (gen_stubs.sh): the reader must not need it", name);
}

/* ---- the stubbed data pages: inaccessible, and named when touched ---- */

static struct sigaction prev_segv;

static void
on_segv(int sig, siginfo_t *si, void *ctx)
{
	const char *a = si->si_addr;

	for (int i = 0; tsf_fuzz_nodata_pages[i] != NULL; i++)
	{
		if (a >= tsf_fuzz_nodata_pages[i] && a < tsf_fuzz_nodata_pages[i] + 4096)
		{
			static const char msg[] = "\n*** tsforecast fuzz: the code under test touched ";
			static const char tail[] = ", a symbol the fuzz target stubs out (gen_stubs.sh)\n";
			const char *name = tsf_fuzz_nodata_names[i];

			(void) !write(2, msg, sizeof(msg) - 1);
			(void) !write(2, name, strlen(name));
			(void) !write(2, tail, sizeof(tail) - 1);
			abort();
		}
	}
	/* not ours: fault again, into AddressSanitizer's handler */
	sigaction(SIGSEGV, &prev_segv, NULL);
}

static void
print_stats(void)
{
	if (stats.inputs == 0)		/* a -fork parent: its children print theirs */
		return;
	fprintf(stderr,
			"fuzz_model: %lu inputs, %lu accepted (%lu AR, %lu LSTM, %lu combinations; %lu of format version 1); "
			"%lu accepted LSTM models with a value infinite in tsf_real (property (b), %s)\n",
			stats.inputs, stats.accepted, stats.ar, stats.lstm, stats.combined, stats.v1, stats.overflow,
			check_precision ? "checked" : "not checked: TSF_FUZZ_CHECK_PRECISION=0");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("TSF_FUZZ_CHECK_PRECISION");
	struct sigaction sa;

	/* on unless TSF_FUZZ_CHECK_PRECISION=0: the reader holds to it */
	check_precision = e == NULL || (strcmp(e, "0") != 0 && *e != '\0');
	e = getenv("TSF_FUZZ_EXPECT_ACCEPT");
	expect_accept = e != NULL && strcmp(e, "0") != 0 && *e != '\0';

	if (sysconf(_SC_PAGESIZE) != 4096)
		shim_fail("the stubbed data pages assume 4096-byte pages");
	for (int i = 0; tsf_fuzz_nodata_pages[i] != NULL; i++)
		if (mprotect((void *) tsf_fuzz_nodata_pages[i], 4096, PROT_NONE) != 0)
			shim_fail("mprotect of the stub %s failed", tsf_fuzz_nodata_names[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &prev_segv);

	atexit(print_stats);
	return 0;
}

/* ---- the reader and the writer, their ERROR caught ---- */

static const char *
sqlstate(int code)
{
	static char buf[6];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(code);
		code >>= 6;
	}
	buf[5] = '\0';
	return buf;
}

static bool
read_model(const uint8_t *data, size_t len, TsfModel *m)
{
	jmp_buf		jb;

	shim_error_jmp = &jb;
	if (setjmp(jb) != 0)
	{
		shim_error_jmp = NULL;
		return false;
	}
	tsf_model_deserialize((const char *) data, len, m, ERRCODE_DATA_CORRUPTED);
	shim_error_jmp = NULL;
	return true;
}

static bytea *
write_model(const TsfModel *m)
{
	jmp_buf		jb;
	bytea	   *b;

	shim_error_jmp = &jb;
	if (setjmp(jb) != 0)
	{
		shim_error_jmp = NULL;
		return NULL;
	}
	b = tsf_model_serialize(m);
	shim_error_jmp = NULL;
	return b;
}

static double
f64_at(const uint8_t *p)
{
	double		v;

	memcpy(&v, p, 8);			/* little-endian hosts, like the format */
	return v;
}

/* where an LSTM value array starts in a value of version 2 or 3 (its own) */
static size_t
lstm_values_offset(const TsfModel *m)
{
	return (m->format_version == 3 ? HEADER_V3 : HEADER_V2) + LSTM_FIXED_SIZE +
		16 * (size_t) tsf_lstm(m)->n_cov;
}

/*
 * Property (b): the first parameter or state value that is not finite in
 * tsf_real, or -1.
 */
static long
first_overflow(const TsfModel *m)
{
	const TsfLstm *L = tsf_lstm(m);
	size_t		P = tsf_nn_param_count(&L->nn);
	size_t		S = tsf_nn_state_count(&L->nn);

	for (size_t i = 0; i < P; i++)
		if (!isfinite(L->params[i]))
			return (long) i;
	for (size_t i = 0; i < S; i++)
		if (!isfinite(L->state[i]))
			return (long) (P + i);
	return -1;
}

/* whether m is a combination with an LSTM among its members, at any depth */
static bool
has_lstm_member(const TsfModel *m)
{
	const TsfCombine *C;

	if (m->kind != &tsf_kind_combine && m->kind != &tsf_kind_auto)
		return false;
	C = (const TsfCombine *) m->payload;
	for (int i = 0; i < C->n; i++)
		if (C->members[i].kind == &tsf_kind_lstm || has_lstm_member(&C->members[i]))
			return true;
	return false;
}

/* the bytes the writer must give back for an accepted input (property (a)) */
static uint8_t *
expected_bytes(const uint8_t *in, size_t len, const TsfModel *m, size_t *elen)
{
	uint8_t    *e = malloc(len + 1);

	if (m->format_version == 1)
	{
		memcpy(e, in, HEADER_V1);
		e[4] = 2;				/* the writer's version for a state not moved */
		e[5] = 0;
		e[HEADER_V1] = TSF_TRAINED_CPU;
		memcpy(e + HEADER_V2, in + HEADER_V1, len - HEADER_V1);
		*elen = len + 1;
	}
	else
	{
		memcpy(e, in, len);
		*elen = len;
	}
	if (m->kind == &tsf_kind_lstm)
	{
		const TsfLstm *L = tsf_lstm(m);
		size_t		n = tsf_nn_param_count(&L->nn) + tsf_nn_state_count(&L->nn);
		uint8_t    *p = e + lstm_values_offset(m);

		for (size_t i = 0; i < n; i++)
		{
			double		v = (double) (tsf_real) f64_at(p + 8 * i);

			memcpy(p + 8 * i, &v, 8);
		}
	}
	return e;
}

static void
compare(const uint8_t *exp, size_t elen, const uint8_t *got, size_t glen,
		const char *what)
{
	size_t		i = 0;
	char		ebuf[3 * 16 + 1] = "",
				gbuf[3 * 16 + 1] = "";

	if (elen == glen && memcmp(exp, got, elen) == 0)
		return;
	while (i < elen && i < glen && exp[i] == got[i])
		i++;
	for (size_t j = i; j < i + 16; j++)
	{
		if (j < elen)
			snprintf(ebuf + 3 * (j - i), 4, "%02x ", exp[j]);
		if (j < glen)
			snprintf(gbuf + 3 * (j - i), 4, "%02x ", got[j]);
	}
	shim_fail("property (a): %s: %zu bytes expected, %zu written; first difference at offset %zu:\n"
			  "  expected %s\n  written  %s", what, elen, glen, i, ebuf, gbuf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TsfModel	m,
				m2;
	bytea	   *out,
			   *out2;
	uint8_t    *exp;
	size_t		elen;

	stats.inputs++;
	shim_arena_reset();

	if (!read_model(data, size, &m))
	{
		if (shim_error.elevel != ERROR || shim_error.sqlerrcode != ERRCODE_DATA_CORRUPTED ||
			strcmp(shim_error.message, "invalid tsforecast model") != 0 ||
			shim_error.detail[0] == '\0')
			shim_fail("the reader rejected the input with SQLSTATE %s \"%s\" (%s, %s:%d), "
					  "not its own XX001 \"invalid tsforecast model\" with a detail",
					  sqlstate(shim_error.sqlerrcode), shim_error.message,
					  shim_error.detail, shim_error.filename, shim_error.lineno);
		if (expect_accept)
			shim_fail("the reader rejects a corpus file: \"%s\" (%s)",
					  shim_error.message, shim_error.detail);
		if (shim_alloc_bytes > 2 * size + 4096)
			shim_fail("the reader allocated %zu bytes before rejecting a %zu-byte input",
					  shim_alloc_bytes, size);
		shim_arena_reset();
		return 0;
	}
	if (shim_alloc_bytes > 2 * size + 4096)
		shim_fail("the reader allocated %zu bytes for a %zu-byte input", shim_alloc_bytes, size);

	stats.accepted++;
	if (m.kind == &tsf_kind_ar)
		stats.ar++;
	else if (m.kind == &tsf_kind_lstm)
		stats.lstm++;
	else
		stats.combined++;
	if (m.format_version == 1)
		stats.v1++;

	/* (b) */
	if (m.kind == &tsf_kind_lstm)
	{
		const TsfLstm *L = tsf_lstm(&m);
		long		bad = first_overflow(&m);
		bool		lag_bad = !isfinite((tsf_real) L->last_y);
		size_t		v1 = m.format_version == 1 ? 1 : 0;
		size_t		v3 = m.format_version == 3 ? 8 : 0;

		if (bad >= 0 || lag_bad)
		{
			stats.overflow++;
			if (check_precision && bad >= 0)
			{
				size_t		off = lstm_values_offset(&m) + 8 * (size_t) bad - v1;

				shim_fail("property (b): the reader accepted LSTM %s value %.10g at offset %zu, "
						  "which is %g in tsf_real (%zu-byte floats)",
						  (size_t) bad < tsf_nn_param_count(&L->nn) ? "parameter" : "state",
						  f64_at(data + off), off, (double) (tsf_real) f64_at(data + off),
						  sizeof(tsf_real));
			}
			if (check_precision)
				shim_fail("property (b): the reader accepted LSTM last_value %.10g at offset %zu, "
						  "the first forecast step's lag input, which is %g in tsf_real "
						  "(%zu-byte floats)", L->last_y, LSTM_LAST_Y_OFFSET - v1 + v3,
						  (double) (tsf_real) L->last_y, sizeof(tsf_real));
			/*
			 * Written back, an infinite parameter or state value is what the
			 * reader refuses: (a) would fail on the same defect
			 */
			if (bad >= 0)
			{
				shim_arena_reset();
				return 0;
			}
		}
	}

	/* (a) */
	out = write_model(&m);
	if (out == NULL)
		shim_fail("property (a): the writer refused a model the reader accepted: "
				  "SQLSTATE %s \"%s\" (%s)", sqlstate(shim_error.sqlerrcode),
				  shim_error.message, shim_error.detail);
	if (!read_model((const uint8_t *) VARDATA(out), VARSIZE(out) - VARHDRSZ, &m2))
		shim_fail("property (a): the reader refuses what the writer made of a model it "
				  "accepted: \"%s\" (%s)", shim_error.message, shim_error.detail);
	if (!has_lstm_member(&m))
	{
		exp = expected_bytes(data, size, &m, &elen);
		compare(exp, elen, (const uint8_t *) VARDATA(out), VARSIZE(out) - VARHDRSZ,
				m.format_version == 1 ? "the version 1 input written as version 2" :
				"the input written again");
		free(exp);
	}
	out2 = write_model(&m2);
	if (out2 == NULL)
		shim_fail("property (a): the writer refused its own model read back");
	compare((const uint8_t *) VARDATA(out), VARSIZE(out) - VARHDRSZ,
			(const uint8_t *) VARDATA(out2), VARSIZE(out2) - VARHDRSZ,
			"the written value read and written once more");

	shim_arena_reset();
	return 0;
}
