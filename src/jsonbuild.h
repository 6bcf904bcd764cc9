/*
 * jsonbuild.h
 *		Building jsonb values key by key with pushJsonbValue, as PostgreSQL's
 *		own jsonb functions do (jsonbuild.c): the views of a model
 *		(model_info(), the tsmodel::jsonb cast), a job's metrics.
 */
#ifndef TSF_JSONBUILD_H
#define TSF_JSONBUILD_H

#include "utils/jsonb.h"

/* a jsonb value being built */
typedef JsonbParseState *TsfJson;

extern void tsf_json_begin_object(TsfJson *js);
extern void tsf_json_end_object(TsfJson *js);
extern void tsf_json_begin_array(TsfJson *js);
extern void tsf_json_end_array(TsfJson *js);
extern Jsonb *tsf_json_finish(TsfJson *js);
extern Jsonb *tsf_jsonb_empty_object(void);

/* a key of the object being built, then its value (or an array's element) */
extern void tsf_json_key(TsfJson *js, const char *key);
extern void tsf_json_num(TsfJson *js, double x);
extern void tsf_json_int(TsfJson *js, int64 x);
extern void tsf_json_str(TsfJson *js, const char *s);
extern void tsf_json_bool(TsfJson *js, bool b);
extern void tsf_json_null(TsfJson *js);
extern void tsf_json_ts(TsfJson *js, int ts_type, int64 ts);

/* key and value at once */
extern void tsf_json_kv_num(TsfJson *js, const char *key, double x);
extern void tsf_json_kv_int(TsfJson *js, const char *key, int64 x);
extern void tsf_json_kv_str(TsfJson *js, const char *key, const char *s);
extern void tsf_json_kv_bool(TsfJson *js, const char *key, bool b);
extern void tsf_json_kv_doubles(TsfJson *js, const char *key, const double *v, size_t n);

/* a key of a jsonb object, set or read */
extern Jsonb *tsf_jsonb_with_key(Jsonb *obj, const char *key, Jsonb *value);
extern Jsonb *tsf_jsonb_key(Jsonb *obj, const char *key);

/* the same bytes (an aggregate's arguments, row after row); a copy in cxt */
extern bool tsf_jsonb_same(const Jsonb *a, const Jsonb *b);
extern Jsonb *tsf_jsonb_copy(MemoryContext cxt, const Jsonb *j);

#endif							/* TSF_JSONBUILD_H */
