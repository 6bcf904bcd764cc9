/*
 * device.h
 *		The compute backend of training (device.c): tsforecast.device, the
 *		CUDA module loaded at run time, cuda_device().
 */
#ifndef TSF_DEVICE_H
#define TSF_DEVICE_H

#include "cuda/tsf_cuda.h"

/* tsforecast.device */
typedef enum TsfDevice
{
	TSF_DEVICE_AUTO = 0,		/* the GPU where usable, else the CPU */
	TSF_DEVICE_CPU = 1,
	TSF_DEVICE_CUDA = 2			/* the GPU, or an error */
} TsfDevice;

/*
 * Device "auto" sends a training to the GPU only when it trains at least
 * this many series at once: one series gains nothing there, and the GPU's
 * first use in a session costs more than its training saves (the figures
 * are in bench/RESULTS.md, "Training on a GPU").  A job's series go to the
 * GPU together.
 */
#define TSF_CUDA_AUTO_MIN_SERIES	2

extern int	tsf_device;
extern char *tsf_cuda_module;
extern const char *const tsf_device_names[];

extern void tsf_cuda_init(void);
extern const tsfc_api *tsf_cuda_probe(const char **name, const char **reason);
extern const tsfc_api *tsf_cuda_resolve(int device, int nseries, int auto_min_series,
										const char **name);
extern int	tsf_device_from_name(const char *s);
extern char *tsf_cuda_sentence(const char *err, const char *otherwise);
extern void tsf_cuda_unusable(const char *reason) pg_attribute_noreturn();

/* the size of the buffers that take the module's messages */
#define TSFC_ERRLEN	1024

#endif							/* TSF_DEVICE_H */
