# tsforecast: PGXS build.
#
#   make                  build the extension (tsforecast.so)
#   make install          install into the PostgreSQL found by PG_CONFIG
#   make unit             build and run the C unit tests of the numerical core
#   make installcheck     pg_regress suites (sql/, expected/) on a running server
#   make pgtap            pgTAP suites (test/pgtap/) through pg_prove
#
# scripts/tsf sets up a throwaway server and runs all of it; see README.md.

EXTENSION = tsforecast
MODULE_big = tsforecast

CORE_SRCS = $(wildcard src/core/*.c)
NN_SRCS = $(wildcard src/nn/*.c)
GLUE_SRCS = $(wildcard src/*.c)
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o) $(NN_SRCS:.c=.o)

# the full install script of each release plus every upgrade script
DATA = $(wildcard install/tsforecast--*.sql)

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

PG_CPPFLAGS = -Isrc $(NN_CPPFLAGS)
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-cast-function-type
SHLIB_LINK = -llapack -lm

REGRESS = setup tsmodel ar_fit forecast frequency predict metrics parallel errors lstm upgrade
REGRESS_OPTS = --inputdir=. --outputdir=test/results

# no JIT bitcode: the extension gains nothing from it, and it would need clang
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

EXTRA_CLEAN = test/results test/unit/bin

# The numerical cores rely on no signed wrap-around; PostgreSQL's -fwrapv
# (needed by its own code) blocks the loop optimizations of their kernels:
# it costs a third of the training speed (12.0 vs 7.9 ms per epoch at
# T = 1650) and 40% of an AR(30) fit on 1,000 points (39 vs 26 us)
$(CORE_SRCS:.c=.o) $(NN_SRCS:.c=.o): CFLAGS += -fno-wrapv

# No FMA contraction in the network core: its kernels are built for SSE2,
# AVX2 and AVX-512 and picked at load time (src/nn/kernels.c); with
# separate multiplies and adds all three give the same bits, so a model
# does not depend on the CPU that trained it
$(NN_SRCS:.c=.o): CFLAGS += -ffp-contract=off

# PGXS tracks no header dependencies: a changed struct must rebuild its users
$(GLUE_SRCS:.c=.o): src/tsforecast.h $(wildcard src/core/*.h) src/nn/nn.h
$(CORE_SRCS:.c=.o): $(wildcard src/core/*.h)
$(NN_SRCS:.c=.o): src/nn/nn.h src/nn/nn_kernels.h src/nn/kernels_isa.h

# ---- C unit tests of the numerical core (no server) ----

# test_nn runs twice: on the float32 core (what the extension ships by
# default) and on the float64 core, where the gradient checks are sharp
UNIT_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra -Werror -ffp-contract=off -Isrc -Itest/unit
UNIT_TESTS = $(filter-out test/unit/bin/test_nn,$(patsubst test/unit/%.c,test/unit/bin/%,$(wildcard test/unit/test_*.c))) \
	test/unit/bin/test_nn_float32 test/unit/bin/test_nn_float64
UNIT_DEPS = $(CORE_SRCS) $(NN_SRCS) $(wildcard src/core/*.h src/nn/*.h) test/unit/unit.h

test/unit/bin/test_nn_float32: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -DTSF_NN_FLOAT -o $@ $< $(NN_SRCS) -lm

test/unit/bin/test_nn_float64: test/unit/test_nn.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(NN_SRCS) -lm

test/unit/bin/%: test/unit/%.c $(UNIT_DEPS)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(NN_SRCS) -llapack -lm

.PHONY: unit pgtap
unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

pgtap:
	pg_prove --ext .sql -r test/pgtap
