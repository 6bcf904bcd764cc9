# tsforecast: PGXS build.
#
#   make                  build the extension (tsforecast.so)
#   make install          install into the PostgreSQL found by PG_CONFIG: the
#                         extension, and the GPU module where nvcc built it
#   make install-cuda-emu install the CUDA module's emulator, for the tests
#   make unit             build and run the C unit tests of the numerical core
#   make installcheck     pg_regress suites (sql/, expected/) on a running server
#                         (make install install-cuda-emu first)
#   make pgtap            pgTAP suites (test/pgtap/) through pg_prove
#   make cuda-check       the CUDA backend's parity tests: emulated on the CPU
#                         always, on the GPU where one is present
#   make fuzz             fuzz the stored-model reader for a fixed budget
#                         (test/fuzz/run.sh; clang-14, no server)
#   make metacheck        META.json, CHANGELOG.md and install/ agree with
#                         tsforecast.control's release (test/release.sh)
#
# Warnings do not fail a build.  CI (.ci/run) adds
# COPT="-Werror -DUSE_ASSERT_CHECKING": PGXS appends COPT to CFLAGS, and
# the unit tests and the CUDA emulator below take it too.
#
# scripts/tsf sets up a throwaway server and runs all of it; see README.md.

EXTENSION = tsforecast
MODULE_big = tsforecast

AR_SRCS = $(wildcard src/ar/*.c)
NN_SRCS = $(wildcard src/nn/*.c)
GLUE_SRCS = $(wildcard src/*.c)
OBJS = $(GLUE_SRCS:.c=.o) $(AR_SRCS:.c=.o) $(NN_SRCS:.c=.o)

# The release, set once: tsforecast.control's default_version.  The C code
# gets it as TSF_VERSION_STR; the tests compare what is installed with it.
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)
ifeq ($(EXTVERSION),)
$(error no default_version in $(EXTENSION).control)
endif

# The install scripts (install/): the current release's full script is
# made from the one source of its objects, install/tsforecast.sql; older
# installations come from 0.1.0's full script through every upgrade script
DATA_built = install/$(EXTENSION)--$(EXTVERSION).sql
DATA = install/$(EXTENSION)--0.1.0.sql $(wildcard install/$(EXTENSION)--*--*.sql)

# The network core's scalar type (src/nn/README.md, "Precision"): float32,
# PyTorch's training precision, unless NN_PRECISION=float64 (then make clean
# first: objects do not track flags).  Models store float64 either way.
NN_PRECISION ?= float32
ifeq ($(NN_PRECISION),float32)
NN_CPPFLAGS = -DTSF_NN_FLOAT
else ifeq ($(NN_PRECISION),float64)
NN_CPPFLAGS =
else
$(error NN_PRECISION must be float32 or float64)
endif

PG_CPPFLAGS = -Isrc $(NN_CPPFLAGS) -DTSF_VERSION_STR=\"$(EXTVERSION)\"
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-cast-function-type -MMD -MP
SHLIB_LINK = -llapack -lm -ldl

# Each suite stands alone: pg_regress creates its database with the
# extension, and a suite loads its own fixtures (test/fixtures/regress.sql),
# so that make installcheck REGRESS=<suite> runs any one of them on a fresh
# database (test/t/006_no_preload.pl runs each so); make print-REGRESS
# lists them.
REGRESS = fixtures tsmodel ar_fit ar_exog forecast frequency predict metrics backtest buckets combine auto parallel errors hardening lstm job_fit cuda upgrade
REGRESS_OUTDIR = test/results
REGRESS_OPTS = --inputdir=. --outputdir=$(REGRESS_OUTDIR) --load-extension=tsforecast

# isolation tests of the job tables' races (test/isolation/specs)
ISOLATION = job_claim job_cancel
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/results/isolation

# no JIT bitcode: the extension gains nothing from it, and it would need clang
override with_llvm = no

# before the include: PGXS reads it when the file is parsed
EXTRA_CLEAN = test/results test/unit/bin test/cuda/bin src/cuda/*.so $(OBJS:.o=.d)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)


# The numerical cores rely on no signed wrap-around; PostgreSQL's -fwrapv
# (needed by its own code) blocks the loop optimizations of their kernels
# (bench/RESULTS.md, "Measurements behind the code's choices")
$(AR_SRCS:.c=.o) $(NN_SRCS:.c=.o): CFLAGS += -fno-wrapv

# No FMA contraction in the network core: its kernels are built for SSE2,
# AVX2 and AVX-512 and picked at load time (src/nn/kernels.c); with
# separate multiplies and adds all three give the same bits, so a model
# does not depend on the CPU that trained it
$(NN_SRCS:.c=.o): CFLAGS += -ffp-contract=off

# sqrt without errno, so that Adam's loop is vectorized (TSF_NN_VECTORIZE,
# src/nn/nn_kernels.h): the same results, a vector at a time
$(NN_SRCS:.c=.o): CFLAGS += -fno-math-errno

# the current release's full install script: its source, as it is
$(DATA_built): install/$(EXTENSION).sql $(EXTENSION).control
	{ echo '/* tsforecast $(EXTVERSION): the full install script, made by make from install/$(EXTENSION).sql (edit that) */'; \
	  echo; cat $<; } >$@

# PGXS tracks no header dependencies: the compiler writes each object's
# (-MMD, beside it as .d), so a changed header rebuilds exactly its users;
# a new release rebuilds the users of TSF_VERSION_STR
-include $(OBJS:.o=.d)
$(GLUE_SRCS:.c=.o): $(EXTENSION).control

# ---- C unit tests of the numerical core (no server) ----

# test_nn runs on the float32 core (what the extension ships by default)
# and on the float64 core, where the gradient checks are sharp; and again
# with the kernels capped at SSE2 (isa0) and at AVX2 (isa1), so that every
# instruction set this machine has is checked against the reference bits
UNIT_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra $(COPT) -ffp-contract=off -fno-math-errno -Isrc -Itest/unit
UNIT_TESTS = $(filter-out test/unit/bin/test_nn,$(patsubst test/unit/%.c,test/unit/bin/%,$(wildcard test/unit/test_*.c))) \
	test/unit/bin/test_nn_float32 test/unit/bin/test_nn_float64 \
	test/unit/bin/test_nn_float32_isa0 test/unit/bin/test_nn_float32_isa1 \
	test/unit/bin/test_nn_float64_isa0 test/unit/bin/test_nn_float64_isa1
UNIT_DEPS = $(AR_SRCS) $(NN_SRCS) $(wildcard src/ar/*.h src/nn/*.h) test/unit/unit.h \
	test/unit/nn_fixture.h

test/unit/bin/test_nn_float32: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -DTSF_NN_FLOAT -o $@ $< $(NN_SRCS) -lm

test/unit/bin/test_nn_float64: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(NN_SRCS) -lm

test/unit/bin/test_nn_float32_isa%: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -DTSF_NN_FLOAT -DTSF_NN_ISA_MAX=$* -o $@ $< $(NN_SRCS) -lm

test/unit/bin/test_nn_float64_isa%: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -DTSF_NN_ISA_MAX=$* -o $@ $< $(NN_SRCS) -lm

test/unit/bin/%: test/unit/%.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(AR_SRCS) $(NN_SRCS) -llapack -lm

# ---- TAP tests (test/t/*.pl) on PostgreSQL's own harness ----
#
# Each test starts clusters of its own with PostgreSQL::Test::Cluster
# (Debian ships it with the server's PGXS), so none restarts a cluster
# another test uses.  initdb refuses root: scripts/tsf runs this target as
# the postgres user, with TAP_DIR (where tmp_check, the clusters and their
# logs go) in a directory that user may write.  PROVE_TESTS picks tests.
TAP_DIR ?= $(CURDIR)
PROVE_TESTS ?= test/t/*.pl
PGXS_TEST_PERL = $(dir $(PGXS))../../src/test/perl

.PHONY: tapcheck
tapcheck:
	rm -rf '$(TAP_DIR)/tmp_check' && mkdir -p '$(TAP_DIR)/tmp_check'
	TESTDIR='$(TAP_DIR)' TSF_ROOT='$(CURDIR)' PATH="$(bindir):$$PATH" \
		PG_REGRESS='$(dir $(PGXS))../../src/test/regress/pg_regress' \
		PG_ISOLATION_REGRESS='$(dir $(PGXS))../../src/test/isolation/pg_isolation_regress' \
		TSF_REGRESS='$(REGRESS)' TSF_ISOLATION='$(ISOLATION)' \
		$(PROVE) -I '$(PGXS_TEST_PERL)' -I test/t $(PROVE_FLAGS) $(PROVE_TESTS)

.PHONY: print-REGRESS
print-REGRESS:
	@echo $(REGRESS)

.PHONY: unit pgtap
unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

pgtap:
	pg_prove --ext .sql -r test/pgtap

# ---- the CUDA backend (src/cuda, optional) ----
#
# tsforecast_cuda.so is built when nvcc is found and loaded by tsforecast.so
# at run time (src/device.c); the main library links no CUDA library.
# The CUDA runtime is linked statically into the module, so it needs only
# the driver where it runs.  tsforecast_cuda_emu.so is the same source
# compiled as plain C++ over an emulator of the few CUDA features it uses
# (src/cuda/emu.h): it runs the kernels on the CPU, one block at a time, so
# that the backend's logic and its SQL paths are tested where no GPU is
# (tsforecast.cuda_module = 'tsforecast_cuda_emu', superuser only).
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
CUDA_SRCS = $(wildcard src/cuda/*.cu)
CUDA_DEPS = $(CUDA_SRCS) $(wildcard src/cuda/*.h) src/nn/nn.h
NVCC_FLAGS = -O3 -std=c++17 $(CUDA_ARCH) -Xcompiler -fPIC,-fvisibility=hidden,-Wall \
	-cudart static -Isrc
EMU_CXXFLAGS = -O2 -g -std=c++17 -fPIC -fvisibility=hidden -Wall -Wextra $(COPT) \
	-Wno-unused-parameter -Wno-unknown-pragmas -Wno-clobbered -DTSFC_EMULATE -Isrc

src/cuda/tsforecast_cuda.so: $(CUDA_DEPS)
	$(NVCC) $(NVCC_FLAGS) -shared -o $@ $(CUDA_SRCS)

src/cuda/tsforecast_cuda_emu.so: $(CUDA_DEPS)
	$(CXX) $(EMU_CXXFLAGS) -shared -x c++ -o $@ $(CUDA_SRCS) -lm

# make and make install: the GPU module, where nvcc is.  The emulator is
# for the tests only: make cuda-check builds it, make install-cuda-emu
# installs it (scripts/tsf test and test/valgrind.sh do).
install: install-cuda
ifneq ($(NVCC),)
all: src/cuda/tsforecast_cuda.so
endif

.PHONY: install-cuda install-cuda-emu cuda-check
install-cuda:
	if [ -f src/cuda/tsforecast_cuda.so ]; then \
		$(INSTALL_SHLIB) src/cuda/tsforecast_cuda.so '$(DESTDIR)$(pkglibdir)/'; fi

install-cuda-emu: src/cuda/tsforecast_cuda_emu.so
	$(INSTALL_SHLIB) src/cuda/tsforecast_cuda_emu.so '$(DESTDIR)$(pkglibdir)/'

# the parity test (test/cuda/test_cuda.c) dlopen()s a module by path, as
# the extension does; it runs against the emulator here and against the
# GPU module where nvcc built one (skipped, saying so, without a GPU)
test/cuda/bin/test_cuda: test/cuda/test_cuda.c $(NN_SRCS) src/nn/nn.h src/cuda/tsf_cuda.h \
	test/unit/unit.h test/unit/nn_fixture.h
	@mkdir -p test/cuda/bin
	$(CC) $(UNIT_CFLAGS) -DTSF_NN_FLOAT -o $@ $< $(NN_SRCS) -ldl -lm

CUDA_CHECK_MODULES = src/cuda/tsforecast_cuda_emu.so $(if $(NVCC),src/cuda/tsforecast_cuda.so)
cuda-check: test/cuda/bin/test_cuda $(CUDA_CHECK_MODULES)
	@set -e; for m in $(CUDA_CHECK_MODULES); do echo "== test_cuda $$m"; \
		./test/cuda/bin/test_cuda ./$$m test/fixtures/nn; done

# ---- the fuzz target of the stored-model reader (test/fuzz) ----
#
# libFuzzer with ASan and UBSan over src/model.c and what it calls, from
# the committed corpus of real models; a crash, a sanitizer report or a
# failed property fails it (test/fuzz/README.md)
.PHONY: fuzz
fuzz:
	NN_PRECISION=$(NN_PRECISION) PG_CONFIG=$(PG_CONFIG) test/fuzz/run.sh

# ---- the release's metadata (META.json, CHANGELOG.md, the upgrade chain) ----
.PHONY: metacheck
metacheck:
	test/release.sh
