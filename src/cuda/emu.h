/*
 * emu.h
 *		The few CUDA features src/cuda/module.cu uses, for building it as
 *		plain C++ (-DTSFC_EMULATE) and running its kernels on the CPU.
 *
 * Why: this machine and CI have no GPU, and a GPU is lent to the project
 * for minutes at a time.  Compiled over this header, the module's kernels
 * and its host loop run unchanged on the CPU (tsforecast_cuda_emu.so), so
 * the parity tests and the SQL paths that use the backend run everywhere,
 * and the GPU run only has to confirm what the emulator already showed.
 *
 * How: a kernel launch runs the grid's blocks one after another; the
 * threads of a block are fibers (ucontext) on one OS thread, each run in
 * threadIdx order until it reaches __syncthreads() or returns, then the
 * next.  Running each thread to its barrier before the next starts makes a
 * missing __syncthreads() visible: a thread that reads shared memory
 * another thread writes before the same barrier reads it before it is
 * written.  Dynamic shared memory is filled with NaNs at each block's start
 * so that a read of an unwritten element shows up in the results.
 *
 * What it does not cover: warp-level primitives, atomics, static
 * __shared__ arrays, 2-D or 3-D thread blocks, streams running
 * concurrently (everything is synchronous).  The module uses none of them.
 */
#ifndef TSFC_EMU_H
#define TSFC_EMU_H

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <limits>
#include <vector>
#include <ucontext.h>

struct dim3
{
	unsigned	x,
				y,
				z;
	dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1):x(x_), y(y_), z(z_)
	{
	}
};

static dim3 tsfemu_threadIdx, tsfemu_blockIdx, tsfemu_blockDim, tsfemu_gridDim;
static unsigned char *tsfemu_smem;

#define threadIdx tsfemu_threadIdx
#define blockIdx tsfemu_blockIdx
#define blockDim tsfemu_blockDim
#define gridDim tsfemu_gridDim

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

/* round-to-nearest intrinsics: the host's operations already are */
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }

/* the scheduler's state */
enum
{
	EMU_READY, EMU_BARRIER, EMU_DONE
};
static ucontext_t tsfemu_main;
static std::vector<ucontext_t> tsfemu_ctx;
static std::vector<int> tsfemu_state;
static std::unique_ptr<char[]> tsfemu_stacks;	/* no fiber lives between launches */
static size_t tsfemu_stacks_size;
static const size_t tsfemu_stack_size = 256 * 1024;
static unsigned tsfemu_cur;
static const std::function<void()> *tsfemu_body;

static void
__syncthreads(void)
{
	tsfemu_state[tsfemu_cur] = EMU_BARRIER;
	swapcontext(&tsfemu_ctx[tsfemu_cur], &tsfemu_main);
}

static void
tsfemu_entry(void)
{
	(*tsfemu_body) ();
	tsfemu_state[tsfemu_cur] = EMU_DONE;
	swapcontext(&tsfemu_ctx[tsfemu_cur], &tsfemu_main);
}

static void
tsfemu_launch(dim3 grid, dim3 block, size_t smem, const std::function<void()> &body)
{
	unsigned	n = block.x;
	std::vector<unsigned char> shared(smem + 16);

	if (block.y != 1 || block.z != 1 || n == 0 || n > 1024)
	{
		fprintf(stderr, "tsfemu: unsupported block shape\n");
		abort();
	}
	tsfemu_ctx.resize(n);
	tsfemu_state.resize(n);
	/*
	 * a new block rather than a resize: a resize would copy the old
	 * stacks, which valgrind rightly reports as reads of dead stack
	 */
	if (tsfemu_stacks_size < n * tsfemu_stack_size)
	{
		tsfemu_stacks.reset(new char[n * tsfemu_stack_size]);
		tsfemu_stacks_size = n * tsfemu_stack_size;
	}
	tsfemu_body = &body;
	tsfemu_blockDim = block;
	tsfemu_gridDim = grid;
	tsfemu_smem = shared.data();
	for (unsigned bz = 0; bz < grid.z; bz++)
		for (unsigned by = 0; by < grid.y; by++)
			for (unsigned bx = 0; bx < grid.x; bx++)
			{
				float		nan = std::numeric_limits<float>::quiet_NaN();

				for (size_t i = 0; i + sizeof(float) <= smem; i += sizeof(float))
					memcpy(&shared[i], &nan, sizeof(float));
				tsfemu_blockIdx = dim3(bx, by, bz);
				for (unsigned t = 0; t < n; t++)
				{
					getcontext(&tsfemu_ctx[t]);
					tsfemu_ctx[t].uc_stack.ss_sp = &tsfemu_stacks[t * tsfemu_stack_size];
					tsfemu_ctx[t].uc_stack.ss_size = tsfemu_stack_size;
					tsfemu_ctx[t].uc_link = NULL;
					makecontext(&tsfemu_ctx[t], tsfemu_entry, 0);
					tsfemu_state[t] = EMU_READY;
				}
				for (;;)
				{
					unsigned	done = 0,
								waiting = 0;

					for (unsigned t = 0; t < n; t++)
					{
						if (tsfemu_state[t] != EMU_READY)
							continue;
						tsfemu_cur = t;
						tsfemu_threadIdx = dim3(t, 0, 0);
						swapcontext(&tsfemu_main, &tsfemu_ctx[t]);
					}
					for (unsigned t = 0; t < n; t++)
					{
						done += tsfemu_state[t] == EMU_DONE;
						waiting += tsfemu_state[t] == EMU_BARRIER;
					}
					if (done == n)
						break;
					if (done > 0)
					{
						/* on a GPU this is undefined behaviour: say so */
						fprintf(stderr, "tsfemu: __syncthreads() reached by %u of %u threads\n",
								waiting, n);
						abort();
					}
					for (unsigned t = 0; t < n; t++)
						tsfemu_state[t] = EMU_READY;
				}
			}
}

#define TSFC_SHARED(type, name) type *name = (type *) tsfemu_smem
#define TSFC_LAUNCH(kern, grid, block, smem, stream, ...) \
	tsfemu_launch((grid), (block), (smem), [&]() { kern(__VA_ARGS__); })

#endif							/* TSFC_EMU_H */
