/*
 * device.c
 *		The compute-backend dispatch: the GUCs tsforecast.device and
 *		tsforecast.cuda_module, the run-time loading of the CUDA module, and
 *		cuda_device().
 *
 * tsforecast.so links no CUDA library.  The first time a backend (or a job
 * worker) asks about the GPU, it dlopen()s $pkglibdir/<cuda_module>.so with
 * RTLD_NOW | RTLD_LOCAL, as PostgreSQL's jit.c loads its provider: not
 * through load_external_function, because a missing module or driver must
 * be a value ("no CUDA backend", with the reason), not an ERROR, and the
 * module's symbols (the CUDA runtime it links statically) must stay its
 * own.  It then looks up tsfc_get_api(), checks the ABI and asks the
 * module for the device's name once; the outcome, usable with a name or
 * not with a reason, is cached for the life of the process (per module
 * name: a superuser's SET tsforecast.cuda_module probes the new one).
 *
 * CUDA is never initialised in the postmaster: a CUDA context does not
 * survive fork(), and every backend is forked from it.  Probing happens
 * only in backends and workers, lazily, when a training or cuda_device()
 * needs the answer.
 *
 * tsforecast.device picks the backend of training:
 *	cpu		the C core (src/nn)
 *	cuda	the module, or an ERROR saying why it is not usable
 *	auto	the module where usable, else the CPU, quietly; lstm_train in a
 *			session (one series) stays on the CPU (see lstm_train.c)
 */
#include "postgres.h"

#include <dlfcn.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "device.h"

PG_FUNCTION_INFO_V1(tsf_cuda_device);

const char *const tsf_device_names[] = {"auto", "cpu", "cuda", NULL};

static const struct config_enum_entry device_options[] = {
	{"auto", TSF_DEVICE_AUTO, false},
	{"cpu", TSF_DEVICE_CPU, false},
	{"cuda", TSF_DEVICE_CUDA, false},
	{NULL, 0, false}
};

int			tsf_device = TSF_DEVICE_AUTO;
char	   *tsf_cuda_module = NULL;

/* the outcome of the probe of one module, cached per process */
static bool probed = false;
static char probed_module[MAXPGPATH];
static const tsfc_api *cuda_api = NULL;
static char cuda_name[256];
static char cuda_reason[1024];

/* a module name is a file name in $pkglibdir: no path, no suffix */
static bool
check_cuda_module(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;

	if (s == NULL || s[0] == '\0')
	{
		GUC_check_errdetail("The module name must not be empty.");
		return false;
	}
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '_' || *s == '-'))
		{
			GUC_check_errdetail("The module name may contain only letters, digits, \"_\" and \"-\"; it names a file in the package library directory.");
			return false;
		}
	return true;
}

void
tsf_cuda_init(void)
{
	DefineCustomEnumVariable("tsforecast.device",
							 "Where LSTMs are trained: auto, cpu or cuda.",
							 "auto trains a job's series on the GPU when the CUDA backend is usable, "
							 "else on the CPU; cuda is an error where it is not usable.",
							 &tsf_device, TSF_DEVICE_AUTO, device_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("tsforecast.cuda_module",
							   "Name of the CUDA module loaded from the package library directory.",
							   "tsforecast_cuda is the GPU module; tsforecast_cuda_emu runs the same "
							   "kernels on the CPU, for tests.",
							   &tsf_cuda_module, "tsforecast_cuda",
							   PGC_SUSET, 0, check_cuda_module, NULL, NULL);
}

/* load and ask the module; the outcome goes into the statics above */
static void
probe(const char *module)
{
	char		path[MAXPGPATH];
	void	   *handle;
	const tsfc_api *(*get_api) (void);
	const tsfc_api *api;
	char		err[TSFC_ERRLEN];
	int			rc;

	probed = true;
	strlcpy(probed_module, module, sizeof(probed_module));
	cuda_api = NULL;
	cuda_name[0] = '\0';
	cuda_reason[0] = '\0';

	if (IsPostmasterEnvironment && !IsUnderPostmaster)
	{
		/* never reached: nothing in the postmaster asks; kept as a guard */
		snprintf(cuda_reason, sizeof(cuda_reason),
				 "The CUDA backend is not loaded in the postmaster.");
		return;
	}

	snprintf(path, sizeof(path), "%s/%s%s", pkglib_path, module, DLSUFFIX);
	if (access(path, F_OK) != 0)
	{
		snprintf(cuda_reason, sizeof(cuda_reason),
				 "The CUDA module \"%s\" is not installed (it is built where nvcc is found).",
				 path);
		return;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
	{
		snprintf(cuda_reason, sizeof(cuda_reason),
				 "Could not load the CUDA module \"%s\": %s.", path, dlerror());
		return;
	}
	get_api = (const tsfc_api *(*) (void)) dlsym(handle, "tsfc_get_api");
	if (get_api == NULL || (api = get_api()) == NULL)
	{
		snprintf(cuda_reason, sizeof(cuda_reason),
				 "The CUDA module \"%s\" has no tsfc_get_api().", path);
		dlclose(handle);
		return;
	}
	if (api->abi != TSFC_ABI)
	{
		snprintf(cuda_reason, sizeof(cuda_reason),
				 "The CUDA module \"%s\" has interface version %d, but this tsforecast needs %d.",
				 path, api->abi, TSFC_ABI);
		dlclose(handle);
		return;
	}
	err[0] = '\0';
	rc = api->device_name(cuda_name, sizeof(cuda_name), err, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	if (rc != TSFC_OK)
	{
		char	   *sentence = tsf_cuda_sentence(err, "The CUDA module found no usable GPU.");

		cuda_name[0] = '\0';
		strlcpy(cuda_reason, sentence, sizeof(cuda_reason));
		pfree(sentence);
		/* the module stays loaded: unloading a CUDA runtime is not safe */
		return;
	}
	cuda_name[sizeof(cuda_name) - 1] = '\0';
	cuda_api = api;
}

/* a message of the module as a sentence (palloc'd), or otherwise if empty */
char *
tsf_cuda_sentence(const char *err, const char *otherwise)
{
	size_t		n = strnlen(err, TSFC_ERRLEN);

	if (n == 0)
		return pstrdup(otherwise);
	return psprintf("%c%.*s%s", pg_toupper((unsigned char) err[0]), (int) n - 1, err + 1,
					err[n - 1] == '.' ? "" : ".");
}

/* the ERROR of tsforecast.device = cuda where no GPU is usable */
void
tsf_cuda_unusable(const char *reason)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tsforecast.device is \"cuda\" but no CUDA device is usable"),
			 errdetail("%s", reason),
			 errhint("Set tsforecast.device to \"auto\" or \"cpu\" to train on the CPU.")));
}

/*
 * The CUDA module's interface where the backend is usable, else NULL and,
 * in *reason, why not (a full sentence).  *name: the device's name.
 */
const tsfc_api *
tsf_cuda_probe(const char **name, const char **reason)
{
	const char *module = tsf_cuda_module ? tsf_cuda_module : "tsforecast_cuda";

	if (!probed || strcmp(probed_module, module) != 0)
		probe(module);
	if (name)
		*name = cuda_api ? cuda_name : NULL;
	if (reason)
		*reason = cuda_api ? NULL : cuda_reason;
	return cuda_api;
}

/*
 * The backend a training uses under device (a TsfDevice), for the number
 * of series it trains at once: the module's interface for the GPU, NULL
 * for the CPU.  "cuda" where no GPU is usable is an ERROR with the reason;
 * "auto" uses the GPU for a batch of at least auto_min_series, and
 * otherwise, or where no GPU is usable, the CPU.
 */
const tsfc_api *
tsf_cuda_resolve(int device, int nseries, int auto_min_series, const char **name)
{
	const char *reason;
	const tsfc_api *api;

	if (name)
		*name = NULL;
	if (device == TSF_DEVICE_CPU)
		return NULL;
	if (device == TSF_DEVICE_AUTO && nseries < auto_min_series)
		return NULL;
	api = tsf_cuda_probe(name, &reason);
	if (api == NULL && device == TSF_DEVICE_CUDA)
		tsf_cuda_unusable(reason);
	return api;
}

/* "auto", "cpu" or "cuda": the TsfDevice of a name; -1 if none */
int
tsf_device_from_name(const char *s)
{
	for (int i = 0; tsf_device_names[i]; i++)
		if (strcmp(s, tsf_device_names[i]) == 0)
			return i;
	return -1;
}

/*
 * cuda_device() -> text: the GPU's name where this backend can use the
 * CUDA backend, NULL where it cannot.
 */
Datum
tsf_cuda_device(PG_FUNCTION_ARGS)
{
	const char *name;

	if (tsf_cuda_probe(&name, NULL) == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}
