/*
 * job_parallel.c
 *		One training job's series spread over parallel worker processes,
 *		through PostgreSQL's own ParallelContext, as a parallel index build
 *		(nbtsort.c) spreads a table's scan.
 *
 * The job's worker is the leader.  It has read the series (job_source.c);
 * it copies them into the context's dynamic shared memory, beside a
 * counter of the next series to claim and one shm_mq per parallel worker,
 * launches up to nprocs - 1 parallel workers, and trains too: every
 * process claims the next group of series (claim(): up to 16 at a time
 * while many are left, single series at the end), trains it
 * through tsf_kind_train on the CPU, scores each model on its series, and
 * hands the model and its metrics on: a parallel worker through its queue,
 * the leader to itself.  The leader drains the queues after every epoch
 * of its own training (without raising anything: kind.h's epoch hook must
 * not throw) and between series, keeps what arrives, and updates the
 * job's progress; when no series is left it waits for the rest.
 *
 * Nothing is stored while the workers run: PostgreSQL allows no writes in
 * parallel mode.  The models come back to worker.c in series order, and it
 * inserts them in the job's one transaction, after the parallel context
 * is gone.  So the job has one outcome: an error in any process (a
 * series' error, with its context; a pg_terminate_backend of a parallel
 * worker; a worker that could not start after it was launched) reaches
 * the leader through PostgreSQL's error queues and fails its transaction,
 * and a cancel of the job (cancel_job signals the leader, and every
 * process reads the slot's flag after each epoch) errors the leader,
 * whose abort terminates the parallel workers and waits for them to
 * exit.  No model lands in either case.  Fewer workers launched than
 * asked (max_parallel_workers, max_worker_processes) is no failure: the
 * leader claims more.
 *
 * Each series' training is the same whichever process runs it (its seed
 * and options are its own; fitted_at is the transaction's start, which
 * the workers share), so the models are those of parallel 1 and of the
 * session's lstm_train ... GROUP BY, bit for bit.
 *
 * Memory: the shared copy of the series is checked against
 * tsforecast.max_memory together with the leader's own copy (freed, series
 * by series, once it is shared), and so is every model kept.
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "device.h"
#include "backtest.h"
#include "guard.h"
#include "job_parallel.h"
#include "jobs.h"
#include "series.h"

int			tsf_job_max_parallel_workers = 8;

#define PJ_KEY_SHARED	UINT64CONST(0x74736600a0000001)
#define PJ_KEY_SERIES	UINT64CONST(0x74736600a0000002)
#define PJ_KEY_QUEUES	UINT64CONST(0x74736600a0000003)
#define PJ_KEY_BACKTEST	UINT64CONST(0x74736600a0000004)

/* each parallel worker's queue to the leader */
#define PJ_QUEUE_BYTES	((Size) 512 * 1024)
/* the most series a process claims at once */
#define PJ_MAX_GROUP	16

/* what every process of the job reads in the shared memory */
typedef struct PjShared
{
	int64		job_id;
	int32		slot;
	uint32		generation;
	int32		kind_id;
	int32		nseries;
	int32		nprocs;			/* asked for, the leader included */
	pg_atomic_uint32 next;		/* the next series to claim */
	/* a backtest job: its row type; the spec and settings (PJ_KEY_BACKTEST) */
	bool		backtest;
	Oid			rowtype;
	Size		spec_len;
	Size		settings_len;
} PjShared;

/*
 * A series in the shared memory, after the offsets of all of them: this
 * header, then the key (NUL-terminated; none when keylen < 0), the options
 * (a jsonb of optlen bytes), the points, the covariates; each MAXALIGNed
 */
typedef struct PjSeries
{
	int32		ts_type;
	int32		fill;
	int32		ncov;
	int32		keylen;
	int64		rows;
	int64		n;
	Size		optlen;
	bool		has_cov;
} PjSeries;

/*
 * a parallel worker's message: this, the metrics (a jsonb; none for a
 * backtest), the model (a bytea) or the backtest's rows (an array)
 */
typedef struct PjResult
{
	int32		index;
	int32		metrics_len;
} PjResult;

/* one process of the job while it trains */
typedef struct PjState
{
	PjShared   *sh;
	char	   *area;			/* the series: offsets, then each */
	const TsfKind *kind;
	Jsonb	   *spec;			/* a backtest's */
	Jsonb	   *settings;

	/* the group in training */
	int			base;
	int			count;
	TsfSeriesState **states;
	const char **keys;
	int			current;		/* in the group, the series errors are about */

	/* a parallel worker: its queue */
	shm_mq_handle *out;

	/* the leader */
	TsfParallelJob *pj;
	shm_mq_handle **in;
	bool	   *gone;
	int			nin;
	double		held;			/* bytes: the shared series, the models kept */
	int			received;
	double		refused;		/* bytes a model would have taken; 0: none */
	bool		oom;
	int			bad;			/* a malformed message's index, or -1 */
	MemoryContext resultcxt;
} PjState;

static Size
series_size(const TsfJobSeries *s)
{
	const TsfSeriesState *st = s->st;
	Size		b = MAXALIGN(sizeof(PjSeries));

	b = add_size(b, MAXALIGN(s->key ? strlen(s->key) + 1 : 0));
	b = add_size(b, MAXALIGN(st->options ? VARSIZE(st->options) : 0));
	b = add_size(b, MAXALIGN(mul_size(sizeof(TsfPoint), st->n)));
	if (st->ncov > 0 && st->cov)
		b = add_size(b, MAXALIGN(mul_size(mul_size(sizeof(double), st->ncov), st->n)));
	return b;
}

static char *
write_series(char *p, const TsfJobSeries *s)
{
	const TsfSeriesState *st = s->st;
	PjSeries   *h = (PjSeries *) p;

	h->ts_type = st->ts_type;
	h->fill = st->fill;
	h->ncov = st->ncov;
	h->keylen = s->key ? strlen(s->key) : -1;
	h->rows = st->rows;
	h->n = st->n;
	h->optlen = st->options ? VARSIZE(st->options) : 0;
	h->has_cov = st->ncov > 0 && st->cov != NULL;
	p += MAXALIGN(sizeof(PjSeries));
	if (s->key)
	{
		memcpy(p, s->key, h->keylen + 1);
		p += MAXALIGN(h->keylen + 1);
	}
	if (h->optlen > 0)
	{
		memcpy(p, st->options, h->optlen);
		p += MAXALIGN(h->optlen);
	}
	memcpy(p, st->pts, sizeof(TsfPoint) * st->n);
	p += MAXALIGN(sizeof(TsfPoint) * st->n);
	if (h->has_cov)
	{
		memcpy(p, st->cov, sizeof(double) * st->ncov * st->n);
		p += MAXALIGN(sizeof(double) * st->ncov * st->n);
	}
	return p;
}

/* series i out of the shared memory, into the current memory context */
static TsfSeriesState *
read_series(PjState *ps, int i, const char **key)
{
	const Size *offsets = (const Size *) ps->area;
	char	   *p = ps->area + offsets[i];
	PjSeries   *h = (PjSeries *) p;
	TsfSeriesState *st = palloc0(sizeof(TsfSeriesState));

	p += MAXALIGN(sizeof(PjSeries));
	*key = NULL;
	if (h->keylen >= 0)
	{
		*key = p;
		p += MAXALIGN(h->keylen + 1);
	}
	if (h->optlen > 0)
	{
		st->options = palloc(h->optlen);
		memcpy(st->options, p, h->optlen);
		p += MAXALIGN(h->optlen);
	}
	st->ts_type = h->ts_type;
	st->fill = h->fill;
	st->ncov = h->ncov;
	st->rows = h->rows;
	st->n = st->cap = h->n;
	st->pts = palloc_extended(Max(sizeof(TsfPoint) * h->n, 1), MCXT_ALLOC_HUGE);
	memcpy(st->pts, p, sizeof(TsfPoint) * h->n);
	p += MAXALIGN(sizeof(TsfPoint) * h->n);
	if (h->has_cov)
	{
		st->cov = palloc_extended(sizeof(double) * h->ncov * h->n, MCXT_ALLOC_HUGE);
		memcpy(st->cov, p, sizeof(double) * h->ncov * h->n);
	}
	return st;
}

/* ---- the leader's side of the queues ---- */

/*
 * Keep series index's model and metrics (the leader's own, or a message's),
 * counting them against tsforecast.max_memory.  quiet (inside an epoch):
 * raise nothing, note what went wrong for raise_pending.
 */
static void
keep_result(PjState *ps, int index, const Jsonb *metrics, Size mlen,
			const bytea *model, Size blen, bool quiet)
{
	TsfParallelJob *pj = ps->pj;
	double		need = ps->held + (double) mlen + (double) blen;
	char	   *m,
			   *b;

	if (index < 0 || index >= pj->nseries || pj->models[index] != NULL)
	{
		if (!quiet)
			elog(ERROR, "tsforecast job " INT64_FORMAT ": a model of series %d came twice or out of range",
				 pj->job_id, index + 1);
		ps->bad = index >= 0 ? index : -2;
		return;
	}
	if (need > tsf_max_memory_bytes())
	{
		if (!quiet)
			tsf_check_memory(need, TSF_MEM_JOB,
							 psprintf("Its series, shared with its parallel workers, and the %d models trained so far take it.",
									  ps->received + 1));
		ps->refused = need;
		return;
	}
	m = MemoryContextAllocExtended(ps->resultcxt, Max(mlen, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	b = m ? MemoryContextAllocExtended(ps->resultcxt, blen, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM) : NULL;
	if (b == NULL)
	{
		if (m)
			pfree(m);
		if (!quiet)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		ps->oom = true;
		return;
	}
	memcpy(m, metrics, mlen);
	memcpy(b, model, blen);
	pj->metrics[index] = mlen > 0 ? (Jsonb *) m : NULL;
	pj->models[index] = (bytea *) b;
	ps->held = need;
	ps->received++;
}

/* raise what a quiet drain noted */
static void
raise_pending(PjState *ps)
{
	if (ps->bad >= 0 || ps->bad < -1)
		elog(ERROR, "tsforecast job " INT64_FORMAT ": a parallel worker sent a malformed model (series %d)",
			 ps->pj->job_id, ps->bad + 1);
	if (ps->refused > 0)
		tsf_check_memory(ps->refused, TSF_MEM_JOB,
						 psprintf("Its series, shared with its parallel workers, and the %d models trained so far take it.",
								  ps->received + 1));
	if (ps->oom)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
}

/*
 * Receive what the parallel workers sent so far and update the job's
 * progress.  quiet: inside an epoch of the leader's own training, where
 * nothing may be raised; else raise what went wrong.
 */
static void
drain(PjState *ps, bool quiet)
{
	bool		stop = false;

	for (int w = 0; w < ps->nin && !stop; w++)
	{
		while (!ps->gone[w])
		{
			Size		len;
			void	   *data;
			shm_mq_result r = shm_mq_receive(ps->in[w], &len, &data, true);
			PjResult	h;

			if (r == SHM_MQ_WOULD_BLOCK)
				break;
			if (r == SHM_MQ_DETACHED)
			{
				ps->gone[w] = true;
				break;
			}
			if (len < sizeof(PjResult))
			{
				ps->bad = -2;
				stop = true;
				break;
			}
			memcpy(&h, data, sizeof(h));
			if ((h.metrics_len != 0 && h.metrics_len < (int32) VARHDRSZ) ||
				len < sizeof(PjResult) + (Size) h.metrics_len + VARHDRSZ)
			{
				ps->bad = -2;
				stop = true;
				break;
			}
			keep_result(ps, h.index, (Jsonb *) ((char *) data + sizeof(PjResult)), h.metrics_len,
						(bytea *) ((char *) data + sizeof(PjResult) + h.metrics_len),
						len - sizeof(PjResult) - h.metrics_len, true);
			if (ps->bad != -1 || ps->refused > 0 || ps->oom)
			{
				stop = true;
				break;
			}
		}
	}
	/* the progress (a spinlock's write: fine inside an epoch too) */
	ps->pj->progress(ps->received, ps->pj->nseries);
	if (!quiet)
		raise_pending(ps);
}

/* ---- every process: the training ---- */

/* whether the job's slot asks for a cancel (a parallel worker's view) */
static bool
slot_cancel(const PjShared *sh)
{
	TsfJobSlot *s = &tsf_jobs->slots[sh->slot];
	bool		cancel;

	SpinLockAcquire(&tsf_jobs->mutex);
	cancel = s->job_id != sh->job_id || s->generation != sh->generation || s->cancel;
	SpinLockRelease(&tsf_jobs->mutex);
	return cancel;
}

static bool
pj_epoch(void *arg, int epoch, int epochs, double loss, double val_loss)
{
	PjState    *ps = (PjState *) arg;
	PjShared   *sh = ps->sh;
	TsfJobSlot *s;
	bool		stop;

	if (ps->pj)
	{
		stop = ps->pj->epoch(NULL, epoch, epochs, loss, val_loss);
		drain(ps, true);
		return stop;
	}
	/* a parallel worker's epochs are the job's progress too */
	s = &tsf_jobs->slots[sh->slot];
	SpinLockAcquire(&tsf_jobs->mutex);
	if (s->job_id == sh->job_id && s->generation == sh->generation)
	{
		s->epoch = epoch;
		s->epochs = epochs;
		s->loss = loss;
		s->val_loss = val_loss;
		stop = s->cancel;
	}
	else
		stop = true;
	SpinLockRelease(&tsf_jobs->mutex);
	return stop;
}

static void
check_stop(PjState *ps)
{
	if (ps->pj)
	{
		ps->pj->check_cancel();
		return;
	}
	if (slot_cancel(ps->sh))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("job " INT64_FORMAT " was cancelled", ps->sh->job_id)));
	CHECK_FOR_INTERRUPTS();
}

static void
pj_stopped(void *arg)
{
	check_stop((PjState *) arg);
}

static void
pj_series(void *arg, int i)
{
	PjState    *ps = (PjState *) arg;

	ps->current = i;
	check_stop(ps);
	if (ps->pj)
		drain(ps, false);
}

/*
 * Series i of the group is done, its result (a model, or a backtest's rows)
 * in value and its metrics (or NULL): keep it or send it to the leader
 */
static void
deliver(PjState *ps, int i, Jsonb *metrics, struct varlena *value)
{
	int			index = ps->base + i;
	Size		mlen = metrics ? VARSIZE(metrics) : 0;

	if (ps->pj)
	{
		keep_result(ps, index, metrics, mlen, (bytea *) value, VARSIZE_ANY(value), false);
		ps->pj->progress(ps->received, ps->pj->nseries);
	}
	else
	{
		PjResult	h;
		shm_mq_iovec iov[3];

		h.index = index;
		h.metrics_len = mlen;
		iov[0].data = (const char *) &h;
		iov[0].len = sizeof(h);
		iov[1].data = (const char *) metrics;
		iov[1].len = mlen;
		iov[2].data = (const char *) value;
		iov[2].len = VARSIZE_ANY(value);
		if (shm_mq_sendv(ps->out, iov, 3, false, true) != SHM_MQ_SUCCESS)
			elog(ERROR, "the leader of tsforecast job " INT64_FORMAT " is gone", ps->sh->job_id);
	}
}

/* a model is done: score it on its series, then keep it or send it */
static void
pj_done(void *arg, int i, bytea *model)
{
	PjState    *ps = (PjState *) arg;
	TsfModel	m;
	Jsonb	   *metrics;

	ps->current = i;
	tsf_model_deserialize(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &m,
						  ERRCODE_INTERNAL_ERROR);
	metrics = tsf_job_series_metrics(&m, ps->states[i]);
	tsf_model_free(&m);
	deliver(ps, i, metrics, (struct varlena *) model);
}

/*
 * A backtest job's group: backtest() of each series in turn (the jobs
 * view's epochs count its origins), its rows kept or sent
 */
static void
backtest_group(PjState *ps, const TsfTrainHooks *hooks)
{
	for (int k = 0; k < ps->count; k++)
	{
		ArrayType  *rows;

		pj_series(ps, k);
		rows = tsf_backtest_series(ps->states[k], ps->spec, ps->settings,
								   ps->sh->rowtype, hooks);
		deliver(ps, k, NULL, (struct varlena *) rows);
		pfree(rows);
		pfree(ps->states[k]->pts);
		ps->states[k]->pts = NULL;
	}
}

static void
pj_error_context(void *arg)
{
	PjState    *ps = (PjState *) arg;
	const char *key;

	if (ps->current < 0 || ps->current >= ps->count)
		return;
	key = ps->keys[ps->current];
	if (key)
		errcontext("training series \"%s\" (%d) of tsforecast job " INT64_FORMAT,
				   key, ps->base + ps->current + 1, ps->sh->job_id);
	else
		errcontext("training series %d of tsforecast job " INT64_FORMAT,
				   ps->base + ps->current + 1, ps->sh->job_id);
}

/*
 * Claim the next group of series: *start, and how many.  Guided, as
 * OpenMP's schedule: a share of what is left (what is left over twice the
 * processes, at most PJ_MAX_GROUP, at least 1), so groups are large while
 * much is left and single series at the end, where a large one would keep
 * one process busy while the others idle.  A whole PJ_MAX_GROUP while at
 * least that many are left for each process: a group of 16 of one kind
 * trains in one pass of the lanes (lstm_train.c), a smaller one series
 * by series, about 1.5 times as long each.
 */
static int
claim(PjShared *sh, uint32 *start)
{
	uint32		next = pg_atomic_read_u32(&sh->next);

	for (;;)
	{
		int			left = next < (uint32) sh->nseries ? sh->nseries - (int) next : 0;
		int			n = left >= PJ_MAX_GROUP * sh->nprocs ? PJ_MAX_GROUP :
			Max(1, Min(PJ_MAX_GROUP, left / (2 * sh->nprocs)));

		if (left == 0)
			return 0;
		n = Min(n, left);
		/* on failure next is the counter's value now */
		if (pg_atomic_compare_exchange_u32(&sh->next, &next, next + n))
		{
			*start = next;
			return n;
		}
	}
}

/* claim groups of series and train them until none is left */
static void
train_claimed(PjState *ps)
{
	PjShared   *sh = ps->sh;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "tsforecast job group",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	TsfTrainHooks hooks = {0};
	ErrorContextCallback errcb;

	hooks.epoch = pj_epoch;
	hooks.stopped = pj_stopped;
	hooks.series = pj_series;
	hooks.done = pj_done;
	hooks.arg = ps;
	ps->current = -1;
	errcb.callback = pj_error_context;
	errcb.arg = ps;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (;;)
	{
		uint32		start;
		int			n = claim(sh, &start);

		if (n == 0)
			break;
		old = MemoryContextSwitchTo(cxt);
		ps->base = start;
		ps->count = n;
		ps->states = palloc(sizeof(TsfSeriesState *) * ps->count);
		ps->keys = palloc(sizeof(char *) * ps->count);
		for (int k = 0; k < ps->count; k++)
			ps->states[k] = read_series(ps, start + k, &ps->keys[k]);
		if (!ps->pj)
			pgstat_report_activity(STATE_RUNNING, ps->count == 1 ?
								   psprintf("tsforecast job " INT64_FORMAT ": parallel worker training series %d of %d",
											sh->job_id, ps->base + 1, sh->nseries) :
								   psprintf("tsforecast job " INT64_FORMAT ": parallel worker training series %d to %d of %d",
											sh->job_id, ps->base + 1, ps->base + ps->count, sh->nseries));
		if (sh->backtest)
			backtest_group(ps, &hooks);
		else
			tsf_kind_train(ps->kind, ps->states, ps->count, TSF_DEVICE_CPU, NULL, &hooks);
		ps->current = -1;
		ps->count = 0;
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(cxt);
}

/* ---- the parallel workers ---- */

void
tsf_job_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	PjState		ps;
	shm_mq	   *mq;

	memset(&ps, 0, sizeof(ps));
	ps.bad = -1;
	ps.sh = shm_toc_lookup(toc, PJ_KEY_SHARED, false);
	ps.area = shm_toc_lookup(toc, PJ_KEY_SERIES, false);
	ps.kind = tsf_kind_by_id(ps.sh->kind_id);
	if (tsf_jobs == NULL || ps.kind == NULL || ps.sh->slot < 0 || ps.sh->slot >= tsf_jobs->nslots)
		elog(ERROR, "tsforecast parallel worker started without its job");
	if (ps.sh->backtest)
	{
		char	   *b = shm_toc_lookup(toc, PJ_KEY_BACKTEST, false);

		ps.spec = palloc(ps.sh->spec_len);
		memcpy(ps.spec, b, ps.sh->spec_len);
		ps.settings = palloc(ps.sh->settings_len);
		memcpy(ps.settings, b + MAXALIGN(ps.sh->spec_len), ps.sh->settings_len);
	}
	mq = (shm_mq *) ((char *) shm_toc_lookup(toc, PJ_KEY_QUEUES, false) +
					 (Size) ParallelWorkerNumber * PJ_QUEUE_BYTES);
	shm_mq_set_sender(mq, MyProc);
	ps.out = shm_mq_attach(mq, seg, NULL);
	train_claimed(&ps);
	shm_mq_detach(ps.out);
}

/* ---- the leader ---- */

/*
 * How many processes train a job of nseries series on the CPU, the
 * leader included: the spec's "parallel", else tsforecast.max_workers;
 * at most tsforecast.max_parallel_workers_per_job + 1 and nseries
 */
int
tsf_job_processes(Jsonb *spec, int nseries)
{
	int			n = tsf_job_spec_parallel(spec);

	if (n < 0)
		n = tsf_jobs_max_workers;
	n = Min(n, tsf_job_max_parallel_workers + 1);
	n = Min(n, nseries);
	return Max(n, 1);
}

void
tsf_job_train_parallel(TsfParallelJob *pj)
{
	int			nworkers = pj->nprocs - 1;
	double		held = 0,
				shared;
	Size		area_size;
	Size		queues_size = (Size) nworkers * PJ_QUEUE_BYTES;
	Size		backtest_size = pj->settings ?
		MAXALIGN(VARSIZE(pj->spec)) + MAXALIGN(VARSIZE(pj->settings)) : 0;
	ParallelContext *pcxt;
	PjShared   *sh;
	char	   *area;
	char	   *queues = NULL;
	char	   *p;
	PjState		ps;

	Assert(nworkers >= 1);

	/* sizes first: the shared series beside the leader's own copy */
	area_size = MAXALIGN(sizeof(Size) * pj->nseries);
	for (int i = 0; i < pj->nseries; i++)
	{
		held += tsf_series_point_bytes(pj->series[i].st) * (double) pj->series[i].st->cap;
		area_size = add_size(area_size, series_size(&pj->series[i]));
	}
	shared = (double) area_size + (double) queues_size + backtest_size + sizeof(PjShared);
	tsf_check_memory(held + shared, TSF_MEM_JOB,
					 psprintf("Its %d series take %s, and sharing them with %d parallel workers %s more.",
							  pj->nseries, tsf_size_pretty(held), nworkers, tsf_size_pretty(shared)));
	pj->models = palloc0(sizeof(bytea *) * pj->nseries);
	pj->metrics = palloc0(sizeof(Jsonb *) * pj->nseries);

	/*
	 * The models are inserted in this transaction once the workers are
	 * done, and no transaction id can be assigned in parallel mode
	 */
	(void) GetCurrentTransactionId();
	EnterParallelMode();
	pcxt = CreateParallelContext("tsforecast", "tsf_job_parallel_main", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(PjShared));
	shm_toc_estimate_chunk(&pcxt->estimator, area_size);
	shm_toc_estimate_chunk(&pcxt->estimator, queues_size);
	shm_toc_estimate_chunk(&pcxt->estimator, backtest_size);
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	InitializeParallelDSM(pcxt);

	sh = shm_toc_allocate(pcxt->toc, sizeof(PjShared));
	sh->job_id = pj->job_id;
	sh->slot = pj->slot;
	sh->generation = pj->generation;
	sh->kind_id = pj->kind->id;
	sh->nseries = pj->nseries;
	sh->nprocs = pj->nprocs;
	pg_atomic_init_u32(&sh->next, 0);
	sh->backtest = pj->settings != NULL;
	sh->rowtype = pj->rowtype;
	sh->spec_len = sh->backtest ? VARSIZE(pj->spec) : 0;
	sh->settings_len = sh->backtest ? VARSIZE(pj->settings) : 0;
	shm_toc_insert(pcxt->toc, PJ_KEY_SHARED, sh);
	if (sh->backtest)
	{
		char	   *b = shm_toc_allocate(pcxt->toc, backtest_size);

		memcpy(b, pj->spec, sh->spec_len);
		memcpy(b + MAXALIGN(sh->spec_len), pj->settings, sh->settings_len);
		shm_toc_insert(pcxt->toc, PJ_KEY_BACKTEST, b);
	}

	/* the series, each freed in the leader once it is shared */
	area = shm_toc_allocate(pcxt->toc, area_size);
	p = area + MAXALIGN(sizeof(Size) * pj->nseries);
	for (int i = 0; i < pj->nseries; i++)
	{
		TsfSeriesState *st = pj->series[i].st;

		((Size *) area)[i] = p - area;
		p = write_series(p, &pj->series[i]);
		if (st->pts)
			pfree(st->pts);
		if (st->cov)
			pfree(st->cov);
		st->pts = NULL;
		st->cov = NULL;
	}
	shm_toc_insert(pcxt->toc, PJ_KEY_SERIES, area);

	/* without a shared segment (none to be had) there are no workers */
	if (pcxt->nworkers > 0)
	{
		queues = shm_toc_allocate(pcxt->toc, queues_size);
		for (int i = 0; i < pcxt->nworkers; i++)
			shm_mq_set_receiver(shm_mq_create(queues + (Size) i * PJ_QUEUE_BYTES, PJ_QUEUE_BYTES),
								MyProc);
		shm_toc_insert(pcxt->toc, PJ_KEY_QUEUES, queues);
		LaunchParallelWorkers(pcxt);
	}

	memset(&ps, 0, sizeof(ps));
	ps.sh = sh;
	ps.area = area;
	ps.kind = pj->kind;
	ps.spec = pj->spec;
	ps.settings = pj->settings;
	ps.pj = pj;
	ps.bad = -1;
	ps.held = shared;
	ps.resultcxt = CurrentMemoryContext;
	ps.nin = pcxt->nworkers_launched;
	pj->launched = ps.nin;
	ps.in = palloc0(sizeof(shm_mq_handle *) * Max(ps.nin, 1));
	ps.gone = palloc0(sizeof(bool) * Max(ps.nin, 1));
	for (int i = 0; i < ps.nin; i++)
		ps.in[i] = shm_mq_attach((shm_mq *) (queues + (Size) i * PJ_QUEUE_BYTES),
								 pcxt->seg, pcxt->worker[i].bgwhandle);
	ereport(LOG,
			(errmsg("tsforecast job " INT64_FORMAT " trains its %d series in %d processes: %d parallel workers of %d asked for, and its own",
					pj->job_id, pj->nseries, ps.nin + 1, ps.nin, nworkers),
			 ps.nin < nworkers ?
			 errhint("Fewer parallel workers were free than asked for: see max_parallel_workers and max_worker_processes.") : 0));
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT ": training %d series in %d processes",
									pj->job_id, pj->nseries, ps.nin + 1));

	/* the leader trains too, then waits for the rest */
	train_claimed(&ps);
	for (;;)
	{
		bool		all_gone = true;

		drain(&ps, false);
		pj->check_cancel();
		for (int w = 0; w < ps.nin; w++)
			all_gone &= ps.gone[w];
		if (all_gone)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	/* a worker's error, if any, is raised here */
	WaitForParallelWorkersToFinish(pcxt);
	for (int i = 0; i < ps.nin; i++)
		shm_mq_detach(ps.in[i]);
	DestroyParallelContext(pcxt);
	ExitParallelMode();

	for (int i = 0; i < pj->nseries; i++)
		if (pj->models[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("tsforecast job " INT64_FORMAT ": series %d has no model: a parallel worker exited before returning it",
							pj->job_id, i + 1)));
}
