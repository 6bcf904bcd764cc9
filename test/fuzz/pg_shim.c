/*
 * pg_shim.c
 *		The few server functions the stored-model reader and writer really
 *		call, for the fuzz harness (fuzz_model.c), with the server's
 *		semantics where the code under test can tell the difference.
 *
 * The reader (tsf_model_deserialize in src/model.c) and the writer
 * (tsf_model_serialize) are compiled unchanged against the server's
 * headers; this file gives them:
 *
 *	- palloc, palloc0, palloc_extended, repalloc, pfree: one malloc per
 *	  chunk (so AddressSanitizer sees every chunk's bounds), all chunks on
 *	  a list that shim_arena_reset() frees after each input, like the
 *	  memory context a query resets; the server's size limits
 *	  (MaxAllocSize, MaxAllocHugeSize with MCXT_ALLOC_HUGE) raise the same
 *	  ERROR as mcxt.c;
 *	- psprintf;
 *	- the ereport machinery as utils/elog.h expands it in PostgreSQL 15:
 *	  errstart / errstart_cold, errcode, errmsg, errmsg_internal, errdetail,
 *	  errdetail_internal, errhint, errfinish.  An ERROR's errfinish()
 *	  longjmps to the harness (shim_error_jmp) with the error recorded in
 *	  shim_error; FATAL and above, or an ERROR with nobody to catch it,
 *	  abort.  Levels below ERROR are dropped, as at the default
 *	  log_min_messages for these levels;
 *	- the StringInfo functions the writer uses (lib/stringinfo.c's);
 *	- ExceptionalCondition, so that Assert() fails loudly (the harness is
 *	  built with USE_ASSERT_CHECKING).
 *
 * Every other server symbol the objects reference gets an aborting stub
 * from gen_stubs.sh: the reader calling one is a finding.
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "pg_shim.h"

/* port.h points these at src/port's; the shim has libc's */
#undef vsnprintf
#undef snprintf
#undef vfprintf
#undef fprintf

jmp_buf    *shim_error_jmp;
ShimError	shim_error;
size_t		shim_alloc_bytes;

void
shim_fail(const char *fmt,...)
{
	va_list		ap;

	fputs("\n*** tsforecast fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fflush(stderr);
	abort();
}

/* ---- the ereport machinery ---- */

static bool error_open;			/* between errstart and errfinish */

static bool
start(int elevel)
{
	if (elevel < ERROR)
		return false;
	if (error_open)
		shim_fail("an error was raised while another one was being reported");
	error_open = true;
	memset(&shim_error, 0, sizeof(shim_error));
	shim_error.elevel = elevel;
	shim_error.sqlerrcode = ERRCODE_INTERNAL_ERROR; /* elog.c's default */
	return true;
}

bool
errstart(int elevel, const char *domain)
{
	return start(elevel);
}

bool
errstart_cold(int elevel, const char *domain)
{
	return start(elevel);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	error_open = false;
	shim_error.filename = filename;
	shim_error.lineno = lineno;
	shim_error.funcname = funcname;
	if (shim_error.elevel >= FATAL)
		shim_fail("elevel %d at %s:%d: %s", shim_error.elevel, filename, lineno,
				  shim_error.message);
	if (shim_error_jmp == NULL)
		shim_fail("ERROR outside the harness at %s:%d: %s", filename, lineno,
				  shim_error.message);
	longjmp(*shim_error_jmp, 1);
}

int
errcode(int sqlerrcode)
{
	shim_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define FORMAT_INTO(buf, fmt) \
	do { \
		va_list		ap_; \
		va_start(ap_, fmt); \
		vsnprintf((buf), sizeof(buf), (fmt), ap_); \
		va_end(ap_); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(shim_error.message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(shim_error.message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(shim_error.detail, fmt);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	FORMAT_INTO(shim_error.detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

void
ExceptionalCondition(const char *conditionName, const char *errorType,
					 const char *fileName, int lineNumber)
{
	shim_fail("%s(\"%s\") at %s:%d", errorType, conditionName, fileName, lineNumber);
}

/* ---- palloc: one malloc per chunk, all on one list ---- */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	Size		size;
	Size		pad;			/* keeps the payload 16-byte aligned */
} Chunk;

static Chunk arena = {&arena, &arena, 0, 0};

static void
link_chunk(Chunk *c)
{
	c->next = arena.next;
	c->prev = &arena;
	arena.next->prev = c;
	arena.next = c;
}

static void
unlink_chunk(Chunk *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

static void
check_size(Size size, int flags)
{
	/* mcxt.c's checks and message */
	if (!((flags & MCXT_ALLOC_HUGE) ? AllocHugeSizeIsValid(size) : AllocSizeIsValid(size)))
		elog(ERROR, "invalid memory alloc request size %zu", size);
}

void *
palloc_extended(Size size, int flags)
{
	Chunk	   *c;

	check_size(size, flags);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu.", size)));
	}
	c->size = size;
	link_chunk(c);
	shim_alloc_bytes += size;
	if (flags & MCXT_ALLOC_ZERO)
		memset(c + 1, 0, size);
	return c + 1;
}

void *
palloc(Size size)
{
	return palloc_extended(size, 0);
}

void *
palloc0(Size size)
{
	return palloc_extended(size, MCXT_ALLOC_ZERO);
}

void
pfree(void *pointer)
{
	Chunk	   *c;

	if (pointer == NULL)
		shim_fail("pfree(NULL)");
	c = (Chunk *) pointer - 1;
	unlink_chunk(c);
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c;
	Chunk	   *n;

	if (pointer == NULL)
		shim_fail("repalloc(NULL)");
	check_size(size, 0);
	c = (Chunk *) pointer - 1;
	unlink_chunk(c);
	n = realloc(c, sizeof(Chunk) + size);
	if (n == NULL)
	{
		link_chunk(c);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu.", size)));
	}
	if (size > n->size)
		shim_alloc_bytes += size - n->size;
	n->size = size;
	link_chunk(n);
	return n + 1;
}

void
shim_arena_reset(void)
{
	while (arena.next != &arena)
	{
		Chunk	   *c = arena.next;

		unlink_chunk(c);
		free(c);
	}
	shim_alloc_bytes = 0;
}

char *
psprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *buf;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		shim_fail("psprintf: bad format \"%s\"", fmt);
	buf = palloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(buf, n + 1, fmt, ap);
	va_end(ap);
	return buf;
}

/* ---- StringInfo (lib/stringinfo.c), what the writer uses ---- */

void
initStringInfo(StringInfo str)
{
	int			size = 1024;	/* stringinfo.c's initial size */

	str->data = (char *) palloc(size);
	str->maxlen = size;
	resetStringInfo(str);
}

StringInfo
makeStringInfo(void)
{
	StringInfo	res = (StringInfo) palloc(sizeof(StringInfoData));

	initStringInfo(res);
	return res;
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0)
		elog(ERROR, "invalid string enlargement request size: %d", needed);
	if (((Size) needed) >= (MaxAllocSize - (Size) str->len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory"),
				 errdetail("Cannot enlarge string buffer containing %d bytes by %d more bytes.",
						   str->len, needed)));
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	if (newlen > (int) MaxAllocSize)
		newlen = (int) MaxAllocSize;
	str->data = (char *) repalloc(str->data, newlen);
	str->maxlen = newlen;
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoSpaces(StringInfo str, int count)
{
	if (count > 0)
	{
		enlargeStringInfo(str, count);
		while (--count >= 0)
			str->data[str->len++] = ' ';
		str->data[str->len] = '\0';
	}
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	if (str->len + 1 >= str->maxlen)
		enlargeStringInfo(str, 1);
	str->data[str->len] = ch;
	str->len++;
	str->data[str->len] = '\0';
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, strlen(s));
}
