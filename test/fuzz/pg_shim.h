/*
 * pg_shim.h
 *		What the fuzz harness (fuzz_model.c) asks of the server shim
 *		(pg_shim.c): the palloc arena, the error a longjmp brought back.
 */
#ifndef TSF_FUZZ_PG_SHIM_H
#define TSF_FUZZ_PG_SHIM_H

#include <setjmp.h>
#include <stddef.h>

/* the ERROR that errfinish() turned into a longjmp to shim_error_jmp */
typedef struct ShimError
{
	int			elevel;
	int			sqlerrcode;		/* MAKE_SQLSTATE() form */
	char		message[256];
	char		detail[512];
	const char *filename;
	int			lineno;
	const char *funcname;
} ShimError;

/* set by the harness around each call that may raise; NULL: abort */
extern jmp_buf *shim_error_jmp;
extern ShimError shim_error;

/* bytes palloc'd since the last shim_arena_reset() */
extern size_t shim_alloc_bytes;

/* free every chunk palloc'd since the last reset */
extern void shim_arena_reset(void);

/* a property failed or a can't-happen path was taken: print, abort */
extern void shim_fail(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

#endif							/* TSF_FUZZ_PG_SHIM_H */
