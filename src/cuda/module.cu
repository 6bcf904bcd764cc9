/*
 * module.cu
 *		tsforecast's CUDA backend: B independent networks of src/nn's
 *		architecture trained in one pass, one thread block per series on
 *		the recurrences (src/cuda/tsf_cuda.h is the interface).
 *
 * Kernels mirror the C core layer for layer (src/nn/README.md has the
 * equations), float32 throughout:
 *	k_mask			dropout masks from each series' xoshiro256** stream, in
 *					the core's draw order (one thread per series)
 *	k_conv_fwd		causal Conv1d			k_conv_wgrad	its gradients
 *	k_inproj		b_ih + b_hh + W_ih x_t for all steps
 *	k_lstm_fwd		the forward recurrence		k_lstm_bwd	the backward one
 *	k_linear_fwd	dropout + Linear(H, 1)		k_linear_bwd, k_linear_wgrad
 *	k_mse			MSE over a range (double sums) and dL/dpred
 *	k_gemm			batched products for the weight gradients and dx
 *	k_bias_grad		db_ih = db_hh = sum_t da_t
 *	k_adam			Adam (the core's operation order, no FMA) + weight average
 *	k_best, k_copy	best validation weights and patience, per series
 *
 * The recurrences are what keeps a GPU from being useful for one series:
 * every step waits for the last.  Here a block of 4H threads owns one
 * series for the whole sequence, one launch per layer and pass: thread r
 * holds row r of W_hh (forward) or the column slice W_hh[gH.., j]
 * (backward) in registers (NR of its H weights; the rest in shared memory,
 * or read through the cache where even that does not fit), so the weights
 * are read from device memory once per pass, not once per step, and a
 * step is a register dot product, one exchange through shared memory and
 * two barriers.  B series are B blocks: the GPU is filled by the batch,
 * not by one series.  Everything else is a pass over (series, step,
 * unit), fully parallel.
 *
 * Memory: all of it is taken at the start of a call and released before
 * the call returns, on success, error and cancel alike (struct Run's
 * destructor); nothing survives a call but the CUDA context of the process.
 */
#ifdef TSFC_EMULATE
#include "emu.h"
#else
#include <cuda_runtime.h>
#define TSFC_SHARED(type, name) \
	extern __shared__ __align__(16) unsigned char tsfc_smem_[]; \
	type *name = (type *) tsfc_smem_
#define TSFC_LAUNCH(kern, grid, block, smem, stream, ...) \
	kern<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <new>
#include <vector>

#include "cuda/tsf_cuda.h"

#ifdef TSFC_EMULATE
/* the host side of the CUDA runtime, for the emulator: host memory */
typedef int cudaError_t;
typedef void *cudaStream_t;
#define cudaSuccess 0
#define cudaErrorMemoryAllocation 2
enum cudaMemcpyKind
{
	cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice
};
struct alignas(16) float4
{
	float		x,
				y,
				z,
				w;
};
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static cudaError_t
cudaMalloc(void **p, size_t n)
{
	*p = malloc(n ? n : 1);
	return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
static cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
static cudaError_t
cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k)
{
	memcpy(d, s, n);
	return cudaSuccess;
}
static cudaError_t cudaMemset(void *d, int v, size_t n) { memset(d, v, n); return cudaSuccess; }
static cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static const char *
cudaGetErrorString(cudaError_t e)
{
	return e == cudaErrorMemoryAllocation ? "out of memory" : "unknown error";
}
typedef void *cudaEvent_t;
#define cudaStreamNonBlocking 1
#define cudaEventDisableTiming 2
static cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
static cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f) { *s = NULL; return cudaSuccess; }
static cudaError_t cudaStreamDestroy(cudaStream_t s) { return cudaSuccess; }
static cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f) { *e = NULL; return cudaSuccess; }
static cudaError_t cudaEventDestroy(cudaEvent_t e) { return cudaSuccess; }
static cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { return cudaSuccess; }
static cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned f) { return cudaSuccess; }
#define TSFC_SET_SMEM(kern, bytes) cudaSuccess
#else
#define TSFC_SET_SMEM(kern, bytes) \
	cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int) (bytes))
#endif

/*
 * Blocks per multiprocessor the recurrence kernels of hidden 32 to 63 are
 * compiled for (__launch_bounds__): more blocks keep more series on chip
 * at once but cap the registers a thread may use.  The values are the
 * fastest measured (bench/RESULTS.md, "Measurements behind the code's
 * choices"); -D overrides them for such measurements.
 */
#ifndef TSFC_FWD_MINBLOCKS
#define TSFC_FWD_MINBLOCKS 4
#endif
#ifndef TSFC_BWD_MINBLOCKS
#define TSFC_BWD_MINBLOCKS 2
#endif

#define TPB 256					/* threads per block of the elementwise kernels */
#define TSFC_MAX_LAYERS_ 8		/* TSF_NN_MAX_LAYERS of src/nn/nn.h */

/* the network's shape and the offsets of its tensors (src/nn/network.c) */
struct Net
{
	int			n_in,
				K,
				C,
				H,
				L,
				G,
				I0;
	size_t		P;
	size_t		conv_w,
				conv_b,
				w_ih[TSFC_MAX_LAYERS_],
				w_hh[TSFC_MAX_LAYERS_],
				b_ih[TSFC_MAX_LAYERS_],
				b_hh[TSFC_MAX_LAYERS_],
				lin_w,
				lin_b;
};

/* ---------------------------------------------------------------- kernels */

static __device__ __forceinline__ uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * Dropout masks (B, T_max, H) for the first len[b] steps of each series:
 * mask = 1 (keep, scaled by 1/(1-p) where used) unless the draw's top 53
 * bits fall under thr = ceil(p 2^53), in the order of tsf_dropout_mask
 * (step-major, one xoshiro256** draw per element).  One thread per series:
 * the stream is sequential.
 */
static __global__ void
k_mask(int B, const int *len, int T_max, int H, uint64_t thr, uint64_t *rng,
	   unsigned char *mask)
{
	int			b = blockIdx.x * blockDim.x + threadIdx.x;

	if (b >= B)
		return;
	uint64_t	s0 = rng[4 * (size_t) b],
				s1 = rng[4 * (size_t) b + 1],
				s2 = rng[4 * (size_t) b + 2],
				s3 = rng[4 * (size_t) b + 3];
	unsigned char *m = mask + (size_t) b * T_max * H;
	size_t		n = (size_t) len[b] * H;

	for (size_t j = 0; j < n; j++)
	{
		uint64_t	r = rotl64(s1 * 5, 7) * 9;
		uint64_t	t = s1 << 17;

		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = rotl64(s3, 45);
		m[j] = (r >> 11) < thr ? 0 : 1;
	}
	rng[4 * (size_t) b] = s0;
	rng[4 * (size_t) b + 1] = s1;
	rng[4 * (size_t) b + 2] = s2;
	rng[4 * (size_t) b + 3] = s3;
}

/* out[t, c] = b[c] + sum_k sum_i w[c, i, k] x[t-K+1+k, i] (zero before 0) */
static __global__ void
k_conv_fwd(Net n, int B, const int *len, int T_max, const float *x,
		   const float *params, float *out)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= (size_t) B * T_max * n.C)
		return;
	int			c = (int) (idx % n.C);
	size_t		bt = idx / n.C;
	int			t = (int) (bt % T_max);
	int			b = (int) (bt / T_max);

	if (t >= len[b])
		return;
	const float *p = params + (size_t) b * n.P;
	const float *w = p + n.conv_w + (size_t) c * n.n_in * n.K;
	float		acc = p[n.conv_b + c];

	for (int k = 0; k < n.K; k++)
	{
		int			tau = t - n.K + 1 + k;

		if (tau < 0)
			continue;
		const float *xr = x + ((size_t) b * T_max + tau) * n.n_in;

		for (int i = 0; i < n.n_in; i++)
			acc += w[(size_t) i * n.K + k] * xr[i];
	}
	out[idx] = acc;
}

/* dw[c, i, k] = sum_t dout[t, c] x[t-K+1+k, i], db[c] = sum_t dout[t, c] */
static __global__ void
k_conv_wgrad(Net n, const int *len, int T_max, const float *x,
			 const float *dconv, float *grads)
{
	int			b = blockIdx.x;
	int			T = len[b];
	int			nw = n.C * n.n_in * n.K;
	float	   *g = grads + (size_t) b * n.P;
	const float *xb = x + (size_t) b * T_max * n.n_in;
	const float *db = dconv + (size_t) b * T_max * n.C;

	for (int e = threadIdx.x; e < nw + n.C; e += blockDim.x)
	{
		float		acc = 0.f;

		if (e < nw)
		{
			int			c = e / (n.n_in * n.K);
			int			i = (e / n.K) % n.n_in;
			int			k = e % n.K;

			for (int t = 0; t < T; t++)
			{
				int			tau = t - n.K + 1 + k;

				if (tau >= 0)
					acc += db[(size_t) t * n.C + c] * xb[(size_t) tau * n.n_in + i];
			}
			g[n.conv_w + e] = acc;
		}
		else
		{
			int			c = e - nw;

			for (int t = 0; t < T; t++)
				acc += db[(size_t) t * n.C + c];
			g[n.conv_b + c] = acc;
		}
	}
}

/* gates[t, r] = b_ih[r] + b_hh[r] + sum_i W_ih[r, i] inp[t, i] */
static __global__ void
k_inproj(Net n, int l, int B, const int *len, int T_max, const float *inp,
		 int I, const float *params, float *gates)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= (size_t) B * T_max * n.G)
		return;
	int			r = (int) (idx % n.G);
	size_t		bt = idx / n.G;
	int			t = (int) (bt % T_max);
	int			b = (int) (bt / T_max);

	if (t >= len[b])
		return;
	const float *p = params + (size_t) b * n.P;
	const float *w = p + n.w_ih[l] + (size_t) r * I;
	const float *xr = inp + bt * I;
	float		acc = p[n.b_ih[l] + r] + p[n.b_hh[l] + r];

	for (int i = 0; i < I; i++)
		acc += w[i] * xr[i];
	gates[idx] = acc;
}

/*
 * The row stride (in floats) of a thread's H - NR weights in shared memory
 * (layout [r][k - NR]): a multiple of 4, so that a thread reads them as
 * float4, and an odd number of float4, so that the 8 threads of a quarter
 * warp reading float4 at the same column hit 8 different bank quads.
 */
static __host__ __device__ __forceinline__ int
smem_row(int H, int NR)
{
	int			sw = (H - NR + 3) & ~3;

	return (sw / 4) % 2 == 0 ? sw + 4 : sw;
}

/*
 * The input part of a gate's pre-activation, b_ih + b_hh + W_ih[r] . x_t, in
 * k_inproj's order, for inputs of up to MAX_FUSED_I: the forward kernel
 * computes it itself for narrow inputs (the conv's channels), which saves
 * writing and reading back (B, T, 4H) pre-activations
 */
#define MAX_FUSED_I 4

static __device__ __forceinline__ void
load_x(float *xv, const float *x, int I)
{
#pragma unroll
	for (int i = 0; i < MAX_FUSED_I; i++)
		if (i < I)
			xv[i] = x[i];
}

static __device__ __forceinline__ float
in_proj(const float *wi, float bias, const float *x, int I)
{
	float		acc = bias;

#pragma unroll
	for (int i = 0; i < MAX_FUSED_I; i++)
		if (i < I)
			acc += wi[i] * x[i];
	return acc;
}

/*
 * The forward recurrence of LSTM layer l, one block of 4H threads per
 * series.  Thread r owns gate row r: its first NR weights of W_hh in
 * registers, the rest in shared memory (wmode 1, laid out [k - NR][r] so
 * that a warp reads consecutive words) or read from device memory through
 * the cache (wmode 2, when even shared memory is too small).  Per step:
 * a_r += W_hh[r] . h_{t-1}; the activated gate goes to shared memory;
 * barrier; threads r < H update unit r (c, tanh c, h); barrier.
 * gates holds the pre-activations from k_inproj (or, I_fused > 0, they
 * are computed here from inp) and gets the activations; with store = 0
 * (a validation pass) only h is written.
 */
template <int NR>
static __global__ void
__launch_bounds__(NR >= 64 ? 512 : (NR >= 32 ? 256 : 1024), NR >= 64 || NR < 32 ? 1 : TSFC_FWD_MINBLOCKS)
k_lstm_fwd(Net n, int l, const int *len, int T_max, const float *params,
		   int wmode, const float *inp, int I_fused, int store, float *gates,
		   float *c, float *tc, float *h)
{
	TSFC_SHARED(float, sm);
	const int	H = n.H,
				G = n.G;
	const int	Hp = (H + 3) & ~3;
	const int	r = threadIdx.x;
	const int	b = blockIdx.x;
	const float *W = params + (size_t) b * n.P + n.w_hh[l];	/* (G, H) */
	float	   *s_h = sm;		/* (Hp) h_{t-1} */
	float	   *s_g = sm + Hp;	/* (G) activated gates */
	float	   *s_w = s_g + G;	/* (G, smem_row) the rest of W_hh */
	const int	SW = smem_row(H, NR);
	float		w[NR > 0 ? NR : 1];

#pragma unroll
	for (int k = 0; k < NR; k++)
		w[k] = W[(size_t) r * H + k];
	if (wmode == 1)
		for (int k = NR; k < H; k++)
			s_w[(size_t) r * SW + (k - NR)] = W[(size_t) r * H + k];

	/* with I_fused > 0, a_t's input part is computed here (inp (T, I)) */
	float		wi[MAX_FUSED_I];
	float		bias = 0.f;

	if (I_fused > 0)
	{
		const float *p = params + (size_t) b * n.P;

		bias = p[n.b_ih[l] + r] + p[n.b_hh[l] + r];
#pragma unroll
		for (int i = 0; i < MAX_FUSED_I; i++)
			wi[i] = i < I_fused ? p[n.w_ih[l] + (size_t) r * I_fused + i] : 0.f;
	}

	const int	T = len[b];
	const size_t base = (size_t) b * T_max;
	const int	gsel = r / H;
	float		cprev = 0.f;
	float		pre = 0.f;

	/*
	 * Step t + 1's input is loaded during step t (into xn, or pre), so
	 * that the loads' latency is not on the recurrence's critical path: a
	 * warp stalls at a load's first use, not at the load
	 */
	float		xn[MAX_FUSED_I];

	if (T > 0)
	{
		if (I_fused > 0)
			load_x(xn, inp + base * I_fused, I_fused);
		else
			pre = gates[base * G + r];
	}

	for (int t = 0; t < T; t++)
	{
		float		a;

		if (I_fused > 0)
		{
			a = in_proj(wi, bias, xn, I_fused);
			if (t + 1 < T)
				load_x(xn, inp + (base + t + 1) * I_fused, I_fused);
		}
		else
		{
			a = pre;
			if (t + 1 < T)
				pre = gates[(base + t + 1) * G + r];
		}

		if (t > 0)
		{
			float		acc[4] = {0.f, 0.f, 0.f, 0.f};

#pragma unroll
			for (int k = 0; k < NR; k += 4)
			{
				float4		hv = reinterpret_cast<const float4 *>(s_h)[k / 4];

				acc[0] += w[k] * hv.x;
				acc[1] += w[k + 1] * hv.y;
				acc[2] += w[k + 2] * hv.z;
				acc[3] += w[k + 3] * hv.w;
			}
			if (wmode == 1)
			{
				const float *wr = s_w + (size_t) r * SW;
				/* float4 reads where many weights are here (NR 64: H 65 to 128) */
				int			q4 = NR >= 64 ? (H - NR) / 4 : 0;

#pragma unroll 4
				for (int q = 0; q < q4; q++)
				{
					float4		wv = reinterpret_cast<const float4 *>(wr)[q];
					float4		hv = reinterpret_cast<const float4 *>(s_h + NR)[q];

					acc[0] += wv.x * hv.x;
					acc[1] += wv.y * hv.y;
					acc[2] += wv.z * hv.z;
					acc[3] += wv.w * hv.w;
				}
				for (int k = NR + 4 * q4; k < H; k++)
					acc[k & 3] += wr[k - NR] * s_h[k];
			}
			else if (wmode == 2)
			{
#pragma unroll 8
				for (int k = NR; k < H; k++)
					acc[k & 3] += W[(size_t) r * H + k] * s_h[k];
			}
			a += (acc[0] + acc[1]) + (acc[2] + acc[3]);
		}
		float		act = gsel == 2 ? tanhf(a) : 1.f / (1.f + expf(-a));

		if (store)
			gates[(base + t) * G + r] = act;
		s_g[r] = act;
		__syncthreads();
		if (r < H)
		{
			float		cc = s_g[H + r] * cprev + s_g[r] * s_g[2 * H + r];
			float		tcc = tanhf(cc);
			float		hh = s_g[3 * H + r] * tcc;
			size_t		o = (base + t) * H + r;

			if (store)
			{
				c[o] = cc;
				tc[o] = tcc;
			}
			h[o] = hh;
			s_h[r] = hh;
			cprev = cc;
		}
		__syncthreads();
	}
}

/* what unit r of step row st (= b T_max + t) reads in the backward pass */
static __device__ __forceinline__ void
load_step(size_t st, int H, int G, int r, const float *dtop, const float *gates,
		  const float *tc, const float *c, bool has_prev, float &dtop_v, float &ig,
		  float &fg, float &gg, float &og, float &tcv, float &cp)
{
	const float *ga = gates + st * G;

	dtop_v = dtop[st * H + r];
	ig = ga[r];
	fg = ga[H + r];
	gg = ga[2 * H + r];
	og = ga[3 * H + r];
	tcv = tc[st * H + r];
	cp = has_prev ? c[(st - 1) * H + r] : 0.f;
}

/*
 * The backward recurrence of LSTM layer l, one block of 4H threads per
 * series, from t = len - 1 down.  Threads r < H compute unit r's gate
 * gradients da_t (4 values) from dh = dtop_t + dh_next and the caches;
 * barrier; every thread r = (gate g, unit j) adds up its part of
 * dh_next[j] = sum_i W_hh[gH + i, j] da[gH + i] with that column slice
 * of W_hh in registers (NR) and shared memory (the rest); barrier; the
 * four parts of dh_next[j] are summed by thread j at the next step.
 * dgates gets da (T, 4H) for the weight gradients (when store_da).
 *
 * FUSE (H = NR <= 40, all weights in registers): the thread also sums its
 * share of the weight gradients as it goes, dW_hh[gH + i, j] += da[gH + i]
 * h_{t-1}[j] (the same da it reads for dh_next), db[r] += da[r] and, for
 * an input of up to MAX_FUSED_I, dW_ih[r, :] += da[r] x_t, and writes them
 * at the end: no pass over da afterwards, no product kernel.
 */
template <int NR, bool FUSE>
static __global__ void
__launch_bounds__(NR >= 64 ? 512 : (NR >= 32 ? 256 : 1024), NR >= 64 || NR < 32 ? 1 : TSFC_BWD_MINBLOCKS)
k_lstm_bwd(Net n, int l, const int *len, int T_max, const float *params,
		   int wmode, const float *gates, const float *c, const float *tc,
		   const float *dtop, const float *h, const float *inp, int I_fused,
		   int store_da, float *dgates, float *grads)
{
	TSFC_SHARED(float, sm);
	const int	H = n.H,
				G = n.G;
	const int	r = threadIdx.x;
	const int	b = blockIdx.x;
	const int	g = r / H,
				j = r - (r / H) * H;
	const float *W = params + (size_t) b * n.P + n.w_hh[l];	/* (G, H) */
	float	   *s_da = sm;		/* (G) */
	float	   *s_part = sm + G;	/* (G) parts of dh_next */
	float	   *s_w = sm + 2 * G;	/* (G, smem_row) */
	const int	SW = smem_row(H, NR);
	float		w[NR > 0 ? NR : 1];

	/* FUSE: this thread's sums of dW_hh[gH + i, j], db[r], dW_ih[r, :] */
	float		acc_hh[FUSE ? NR : 1];
	float		acc_ih[FUSE ? MAX_FUSED_I : 1];
	float		acc_b = 0.f;

#pragma unroll
	for (int i = 0; i < NR; i++)
		w[i] = W[(size_t) (g * H + i) * H + j];
	if (wmode == 1)
		for (int i = NR; i < H; i++)
			s_w[(size_t) r * SW + (i - NR)] = W[(size_t) (g * H + i) * H + j];
	if (FUSE)
	{
#pragma unroll
		for (int i = 0; i < NR; i++)
			acc_hh[i] = 0.f;
#pragma unroll
		for (int i = 0; i < MAX_FUSED_I; i++)
			acc_ih[i] = 0.f;
	}

	const int	T = len[b];
	const size_t base = (size_t) b * T_max;
	float		dcn = 0.f;

	/*
	 * What step t reads from device memory is loaded during step t + 1
	 * (the *_n registers), off the recurrence's critical path
	 */
	float		dtop_n = 0.f,
				ig_n = 0.f,
				fg_n = 0.f,
				gg_n = 0.f,
				og_n = 0.f,
				tc_n = 0.f,
				cp_n = 0.f,
				hp_n = 0.f;

	if (T > 0)
	{
		if (r < H)
			load_step(base + T - 1, H, G, r, dtop, gates, tc, c, T - 1 > 0,
					  dtop_n, ig_n, fg_n, gg_n, og_n, tc_n, cp_n);
		if (FUSE && T > 1)
			hp_n = h[(base + T - 2) * H + j];
	}

	for (int t = T - 1; t >= 0; t--)
	{
		/* h_{t-1}[j] */
		float		hprev = hp_n;

		if (FUSE && t > 1)
			hp_n = h[(base + t - 2) * H + j];
		if (r < H)
		{
			size_t		o = (base + t) * H + r;
			float		dh = dtop_n;
			float		ig = ig_n,
						fg = fg_n,
						gg = gg_n,
						og = og_n;
			float		tcv = tc_n;
			float		cp = cp_n;

			if (t > 0)
				load_step(base + t - 1, H, G, r, dtop, gates, tc, c, t - 1 > 0,
						  dtop_n, ig_n, fg_n, gg_n, og_n, tc_n, cp_n);
			if (t < T - 1)
				dh += (s_part[r] + s_part[H + r]) + (s_part[2 * H + r] + s_part[3 * H + r]);

			float		dog = dh * tcv;
			float		dc = dcn + dh * og * (1.f - tcv * tcv);
			float		di = dc * gg,
						dg = dc * ig,
						df = dc * cp;

			dcn = dc * fg;
			float		dai = di * ig * (1.f - ig);
			float		daf = df * fg * (1.f - fg);
			float		dag = dg * (1.f - gg * gg);
			float		dao = dog * og * (1.f - og);

			(void) o;
			if (store_da)
			{
				float	   *da = dgates + (base + t) * G;

				da[r] = dai;
				da[H + r] = daf;
				da[2 * H + r] = dag;
				da[3 * H + r] = dao;
			}
			s_da[r] = dai;
			s_da[H + r] = daf;
			s_da[2 * H + r] = dag;
			s_da[3 * H + r] = dao;
		}
		__syncthreads();
		{
			const float *sd = s_da + g * H;
			float		acc[4] = {0.f, 0.f, 0.f, 0.f};

			if (FUSE)
			{
				float		dar = s_da[r];

				acc_b += dar;
				if (I_fused > 0)
				{
					const float *x = inp + (base + t) * I_fused;

#pragma unroll
					for (int i = 0; i < MAX_FUSED_I; i++)
						if (i < I_fused)
							acc_ih[i] += dar * x[i];
				}
			}
			if (t > 0)
			{
#pragma unroll
				for (int i = 0; i < NR; i++)
				{
					float		d = sd[i];

					acc[i & 3] += w[i] * d;
					if (FUSE)
						acc_hh[i] += d * hprev;
				}
				if (wmode == 1)
				{
					const float *wr = s_w + (size_t) r * SW;
					/* sd + NR is 16-byte aligned when H is a multiple of 4 */
					int			q4 = NR >= 64 && H % 4 == 0 ? (H - NR) / 4 : 0;

#pragma unroll 4
					for (int q = 0; q < q4; q++)
					{
						float4		wv = reinterpret_cast<const float4 *>(wr)[q];
						float4		dv = reinterpret_cast<const float4 *>(sd + NR)[q];

						acc[0] += wv.x * dv.x;
						acc[1] += wv.y * dv.y;
						acc[2] += wv.z * dv.z;
						acc[3] += wv.w * dv.w;
					}
					for (int i = NR + 4 * q4; i < H; i++)
						acc[i & 3] += wr[i - NR] * sd[i];
				}
				else if (wmode == 2)
				{
#pragma unroll 8
					for (int i = NR; i < H; i++)
						acc[i & 3] += W[(size_t) (g * H + i) * H + j] * sd[i];
				}
				s_part[r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
			}
		}
		__syncthreads();
	}
	if (FUSE)
	{
		float	   *gb = grads + (size_t) b * n.P;

#pragma unroll
		for (int i = 0; i < NR; i++)
			gb[n.w_hh[l] + (size_t) (g * H + i) * H + j] = acc_hh[i];
		gb[n.b_ih[l] + r] = acc_b;
		gb[n.b_hh[l] + r] = acc_b;
		if (I_fused > 0)
#pragma unroll
			for (int i = 0; i < MAX_FUSED_I; i++)
				if (i < I_fused)
					gb[n.w_ih[l] + (size_t) r * I_fused + i] = acc_ih[i];
	}
}

/* pred[t] = b + sum_j w[j] (h[t, j] mask[t, j]) */
static __global__ void
k_linear_fwd(Net n, int B, const int *len, int T_max, const float *htop,
			 const unsigned char *mask, float scale, const float *params,
			 float *pred)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= (size_t) B * T_max)
		return;
	int			t = (int) (idx % T_max);
	int			b = (int) (idx / T_max);

	if (t >= len[b])
		return;
	const float *p = params + (size_t) b * n.P;
	const float *w = p + n.lin_w;
	const float *hr = htop + idx * n.H;
	const unsigned char *mr = mask ? mask + idx * n.H : NULL;
	float		acc = p[n.lin_b];

	for (int j = 0; j < n.H; j++)
	{
		float		d = hr[j];

		if (mr)
			d = d * (mr[j] ? scale : 0.f);
		acc += w[j] * d;
	}
	pred[idx] = acc;
}

/* dtop[t, j] = dpred[t] w[j] mask[t, j]: the gradient of the top LSTM's h */
static __global__ void
k_linear_bwd(Net n, int B, const int *len, int T_max, const float *dpred,
			 const unsigned char *mask, float scale, const float *params,
			 float *dtop)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= (size_t) B * T_max * n.H)
		return;
	int			j = (int) (idx % n.H);
	size_t		bt = idx / n.H;
	int			t = (int) (bt % T_max);
	int			b = (int) (bt / T_max);

	if (t >= len[b])
		return;
	float		d = dpred[bt] * params[(size_t) b * n.P + n.lin_w + j];

	if (mask)
		d = d * (mask[idx] ? scale : 0.f);
	dtop[idx] = d;
}

/* dw[j] = sum_t dpred[t] (h[t, j] mask[t, j]), db = sum_t dpred[t] */
static __global__ void
k_linear_wgrad(Net n, const int *len, int T_max, const float *dpred,
			   const float *htop, const unsigned char *mask, float scale,
			   float *grads)
{
	int			b = blockIdx.x;
	int			j = threadIdx.x;
	int			T = len[b];
	const float *dp = dpred + (size_t) b * T_max;
	float		acc = 0.f;

	if (j > n.H)
		return;
	if (j < n.H)
	{
		for (int t = 0; t < T; t++)
		{
			size_t		o = ((size_t) b * T_max + t) * n.H + j;
			float		d = htop[o];

			if (mask)
				d = d * (mask[o] ? scale : 0.f);
			acc += dp[t] * d;
		}
		grads[(size_t) b * n.P + n.lin_w + j] = acc;
	}
	else
	{
		for (int t = 0; t < T; t++)
			acc += dp[t];
		grads[(size_t) b * n.P + n.lin_b] = acc;
	}
}

/*
 * Loss of each series over [lo[b], hi[b]) (double sums, as the core), NaN
 * for an empty range; with dpred, also dL/dpred over [0, hi[b]), zero
 * before lo[b].  One block of TPB threads per series, a fixed reduction
 * order (deterministic).
 */
static __global__ void
k_mse(const int *lo, const int *hi, int T_max, const float *pred,
	  const float *y, double *loss, float *dpred)
{
	TSFC_SHARED(double, s);
	int			b = blockIdx.x;
	int			tid = threadIdx.x;
	int			t0 = lo[b],
				t1 = hi[b];
	float		scale = t1 > t0 ? (float) (2.0 / (t1 - t0)) : 0.f;
	double		sum = 0;

	for (int t = tid; t < t1; t += blockDim.x)
	{
		size_t		o = (size_t) b * T_max + t;

		if (t >= t0)
		{
			double		e = (double) pred[o] - (double) y[o];

			sum += e * e;
		}
		if (dpred)
			dpred[o] = t >= t0 ? scale * (pred[o] - y[o]) : 0.f;
	}
	s[tid] = sum;
	__syncthreads();
	for (int w = blockDim.x / 2; w > 0; w >>= 1)
	{
		if (tid < w)
			s[tid] += s[tid + w];
		__syncthreads();
	}
	if (tid == 0)
		loss[b] = t1 > t0 ? s[0] / (t1 - t0) : NAN;
}

/*
 * Batched product C_b = A_b B_b (set, not accumulated), A (M, K) and
 * B (K, N) given by strides, so that one kernel serves dW_ih = da^T x,
 * dW_hh = da[1:]^T h[:-1] and dx = da W_ih.  M or K may be per series
 * (lenM[b] + dM, lenK[b] + dK).  Tiles of 64 x 32 outputs, 4 x 2 per
 * thread, K in chunks of 16 through shared memory.
 */
struct Gemm
{
	const float *A;
	size_t		sAb,
				sAm,
				sAk;
	const float *Bm;
	size_t		sBb,
				sBk,
				sBn;
	float	   *C;
	size_t		sCb,
				sCm;
	int			M,
				N,
				K;
	const int  *lenM;
	int			dM;
	const int  *lenK;
	int			dK;
};

/*
 * Tiles of TM x TN outputs, 256 threads of RM x RN outputs each (so
 * (TM / RM) (TN / RN) = 256), K in chunks of TK through shared memory
 * (rows padded by one word against bank conflicts).  64 x 32 tiles (4 x 2
 * per thread); 128 x 64 (8 x 4, twice the multiply-adds per shared-memory
 * read) only with TSFC_GEMM_BIG set: fewer blocks and twice the registers,
 * it was the slower of the two (bench/RESULTS.md, "Measurements behind the
 * code's choices").
 */
template <int TM, int TN, int TK, int RM, int RN>
static __global__ void
__launch_bounds__(256)
k_gemm(Gemm g)
{
	TSFC_SHARED(float, sm);
	float	   *As = sm;		/* (TK, TM + 1) */
	float	   *Bs = sm + TK * (TM + 1);	/* (TK, TN + 1) */
	int			b = blockIdx.y;
	int			tiles_n = (g.N + TN - 1) / TN;
	int			tm = blockIdx.x / tiles_n,
				tn = blockIdx.x % tiles_n;
	int			Mb = g.lenM ? g.lenM[b] + g.dM : g.M;
	int			Kb = g.lenK ? g.lenK[b] + g.dK : g.K;
	int			tid = threadIdx.x;
	int			tx = tid % (TN / RN),
				ty = tid / (TN / RN);
	float		acc[RM][RN];
	const float *A = g.A + (size_t) b * g.sAb;
	const float *Bp = g.Bm + (size_t) b * g.sBb;

	/*
	 * neighbouring threads load neighbouring addresses: along m (or n)
	 * when that is the operand's contiguous dimension, else along k
	 */
	const bool	a_k = g.sAk == 1,
				b_k = g.sBk == 1;

#pragma unroll
	for (int i = 0; i < RM; i++)
#pragma unroll
		for (int q = 0; q < RN; q++)
			acc[i][q] = 0.f;
	if (Mb > g.M)
		Mb = g.M;
	if (tm * TM >= Mb)
		return;					/* the whole block: no barrier is skipped */
	for (int k0 = 0; k0 < Kb; k0 += TK)
	{
		for (int e = tid; e < TK * TM; e += 256)
		{
			int			kk = a_k ? e % TK : e / TM,
						mm = a_k ? e / TK : e % TM;
			int			m = tm * TM + mm,
						k = k0 + kk;

			As[kk * (TM + 1) + mm] = (m < Mb && k < Kb) ? A[(size_t) m * g.sAm + (size_t) k * g.sAk] : 0.f;
		}
		for (int e = tid; e < TK * TN; e += 256)
		{
			int			kk = b_k ? e % TK : e / TN,
						nn = b_k ? e / TK : e % TN;
			int			nc = tn * TN + nn,
						k = k0 + kk;

			Bs[kk * (TN + 1) + nn] = (nc < g.N && k < Kb) ? Bp[(size_t) k * g.sBk + (size_t) nc * g.sBn] : 0.f;
		}
		__syncthreads();
#pragma unroll
		for (int kk = 0; kk < TK; kk++)
		{
			float		a[RM],
						bv[RN];

#pragma unroll
			for (int i = 0; i < RM; i++)
				a[i] = As[kk * (TM + 1) + ty * RM + i];
#pragma unroll
			for (int q = 0; q < RN; q++)
				bv[q] = Bs[kk * (TN + 1) + tx * RN + q];
#pragma unroll
			for (int i = 0; i < RM; i++)
#pragma unroll
				for (int q = 0; q < RN; q++)
					acc[i][q] += a[i] * bv[q];
		}
		__syncthreads();
	}
#pragma unroll
	for (int i = 0; i < RM; i++)
#pragma unroll
		for (int q = 0; q < RN; q++)
		{
			int			m = tm * TM + ty * RM + i,
						nc = tn * TN + tx * RN + q;

			if (m < Mb && nc < g.N)
				g.C[(size_t) b * g.sCb + (size_t) m * g.sCm + nc] = acc[i][q];
		}
}

/* db_ih[r] = db_hh[r] = sum_t da[t, r] */
static __global__ void
k_bias_grad(Net n, int l, int B, const int *len, int T_max,
			const float *dgates, float *grads)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= (size_t) B * n.G)
		return;
	int			r = (int) (idx % n.G);
	int			b = (int) (idx / n.G);
	const float *da = dgates + (size_t) b * T_max * n.G + r;
	float		acc = 0.f;

	for (int t = 0; t < len[b]; t++)
		acc += da[(size_t) t * n.G];
	grads[(size_t) b * n.P + n.b_ih[l] + r] = acc;
	grads[(size_t) b * n.P + n.b_hh[l] + r] = acc;
}

/*
 * Adam over all series' parameter blocks (B, P), skipping stopped series,
 * with the core's operations in its order and no fused multiply-adds
 * (src/nn/adam.c); then the weight average ema = d ema + (1 - d) p in
 * double, as src/lstm_train.c computes it.
 */
static __global__ void
k_adam(size_t total, size_t P, const int *stopped, float *params,
	   const float *grads, float *m, float *v, float *ema, double d,
	   float step_size, float bc2_sqrt, float b1, float b2, float a1,
	   float a2, float eps)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= total || stopped[idx / P])
		return;
	float		gr = grads[idx];
	float		mm = __fadd_rn(__fmul_rn(m[idx], b1), __fmul_rn(a1, gr));
	float		vv = __fadd_rn(__fmul_rn(v[idx], b2), __fmul_rn(__fmul_rn(a2, gr), gr));
	float		p = params[idx];

	m[idx] = mm;
	v[idx] = vv;
	p = __fadd_rn(p, -__fdiv_rn(__fmul_rn(step_size, mm),
								__fadd_rn(__fdiv_rn(__fsqrt_rn(vv), bc2_sqrt), eps)));
	params[idx] = p;
	if (ema)
		ema[idx] = (float) __dadd_rn(__dmul_rn(d, (double) ema[idx]),
									 __dmul_rn(1.0 - d, (double) p));
}

/* best validation loss, its epoch, and patience, per series */
static __global__ void
k_best(int B, int epoch, int patience, const int *Ttr, const int *T,
	   const double *vl, double *best_val, int *best_epoch, int *stopped,
	   int *epochs_run, int *copy)
{
	int			b = blockIdx.x * blockDim.x + threadIdx.x;

	if (b >= B)
		return;
	copy[b] = 0;
	if (stopped[b] || Ttr[b] >= T[b])
		return;
	if (vl[b] < best_val[b])
	{
		best_val[b] = vl[b];
		best_epoch[b] = epoch;
		copy[b] = 1;
	}
	if (patience > 0 && epoch - best_epoch[b] >= patience)
	{
		stopped[b] = 1;
		epochs_run[b] = epoch;
	}
}

static __global__ void
k_copy(size_t total, size_t P, const int *copy, const float *src, float *dst)
{
	size_t		idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (idx < total && copy[idx / P])
		dst[idx] = src[idx];
}

/* ------------------------------------------------------------------ host */

/*
 * TSFC_PROFILE=1 in the environment: time each phase of an epoch with
 * events on the default stream and print the means per epoch to stderr at
 * the end of a training call (bench/cuda_bench.c uses it; it costs a
 * synchronization per epoch, which the epoch has anyway).  Not in the
 * emulator.
 */
#ifndef TSFC_EMULATE
#include <map>
#include <string>

struct Prof
{
	bool		on;
	std::vector<std::pair<cudaEvent_t, const char *>> marks;
	std::vector<cudaEvent_t> pool;
	size_t		used;
	cudaEvent_t start;
	std::map<std::string, double> total;
	std::vector<std::string> order;
	int			epochs;

	Prof():on(getenv("TSFC_PROFILE") != NULL), used(0), epochs(0)
	{
	}
	cudaEvent_t ev()
	{
		if (used == pool.size())
		{
			cudaEvent_t e;

			cudaEventCreate(&e);
			pool.push_back(e);
		}
		return pool[used++];
	}
	void		begin()
	{
		if (!on)
			return;
		used = 0;
		marks.clear();
		start = ev();
		cudaEventRecord(start, 0);
	}
	void		mark(const char *label)
	{
		if (!on)
			return;
		cudaEvent_t e = ev();

		cudaEventRecord(e, 0);
		marks.push_back({e, label});
	}
	void		end()
	{
		cudaEvent_t prev = start;

		if (!on)
			return;
		epochs++;
		for (auto &m : marks)
		{
			float		ms = 0;

			cudaEventSynchronize(m.first);
			cudaEventElapsedTime(&ms, prev, m.first);
			if (!total.count(m.second))
				order.push_back(m.second);
			total[m.second] += ms;
			prev = m.first;
		}
	}
	~Prof()
	{
		if (on && epochs > 0)
		{
			double		sum = 0;

			for (auto &k : order)
				sum += total[k];
			fprintf(stderr, "tsfc profile: %d epochs, %.3f ms per epoch\n", epochs, sum / epochs);
			for (auto &k : order)
				fprintf(stderr, "tsfc profile:   %-28s %8.3f ms  %5.1f%%\n", k.c_str(),
						total[k] / epochs, 100 * total[k] / sum);
		}
		for (auto e : pool)
			cudaEventDestroy(e);
	}
};
#else
struct Prof
{
	void		begin()
	{
	}
	void		mark(const char *)
	{
	}
	void		end()
	{
	}
};
#endif

static unsigned
blocks_for(size_t n)
{
	return (unsigned) ((n + TPB - 1) / TPB);
}

/* the register share NR of a thread's H weights (see k_lstm_fwd) */
static int
pick_nr(int H)
{
	if (H > 128)
		return 16;				/* 4H up to 1024 threads: at most 64 registers */
	if (H >= 64)
		return 64;
	if (H >= 40)
		return 40;
	if (H >= 32)
		return 32;
	if (H >= 16)
		return 16;
	if (H >= 8)
		return 8;
	return 0;
}

/*
 * One call's state: the network, the device buffers, and the error
 * message.  Every allocation is recorded and freed by the destructor, so
 * any return path releases the GPU's memory.
 */
struct Run
{
	Net			n;
	int			B,
				T_max;
	char	   *err;
	size_t		errlen;
	bool		failed;
	std::vector<void *> allocs;
	size_t		smem_optin;

	/* device buffers */
	float	   *x,
			   *y,
			   *params,
			   *grads,
			   *m,
			   *v,
			   *ema,
			   *best;
	float	   *conv_out,
			   *gates[TSFC_MAX_LAYERS_],
			   *c[TSFC_MAX_LAYERS_],
			   *tc[TSFC_MAX_LAYERS_],
			   *h[TSFC_MAX_LAYERS_];
	unsigned char *mask;
	float	   *pred,
			   *dpred,
			   *dh[2],
			   *dgates,
			   *dconv;
	int		   *len_all,
			   *len_train,
			   *zero,
			   *lo_val;
	uint64_t   *rng;

	/*
	 * The dropout masks of epoch e + 1 are drawn on their own stream while
	 * epoch e trains (the draws are sequential per series, about a third
	 * of a millisecond, and depend on nothing but the generators), into
	 * the other of two buffers: ready[k] says buffer k is drawn, used[k]
	 * that the epoch which read it is done with it.
	 */
	unsigned char *maskbuf[2];
	cudaStream_t mstream;
	cudaEvent_t ready[2],
				used[2];
	bool		have_stream;
	Prof		prof;

	Run(char *e, size_t el):B(0), T_max(0), err(e), errlen(el), failed(false),
		smem_optin(48 * 1024), have_stream(false)
	{
		memset(&n, 0, sizeof(n));
	}
	~Run()
	{
		/* nothing may still run on the memory about to be freed */
		cudaDeviceSynchronize();
		if (have_stream)
		{
			for (int k = 0; k < 2; k++)
			{
				cudaEventDestroy(ready[k]);
				cudaEventDestroy(used[k]);
			}
			cudaStreamDestroy(mstream);
		}
		for (void *p : allocs)
			cudaFree(p);
	}
	bool		streams()
	{
		bool		r = ok(cudaStreamCreateWithFlags(&mstream, cudaStreamNonBlocking), "stream");

		for (int k = 0; r && k < 2; k++)
			r = ok(cudaEventCreateWithFlags(&ready[k], cudaEventDisableTiming), "event") &&
				ok(cudaEventCreateWithFlags(&used[k], cudaEventDisableTiming), "event");
		have_stream = r;
		return r;
	}
	bool		fail(const char *what, cudaError_t e)
	{
		if (!failed)
			snprintf(err, errlen, "%s: %s", what, cudaGetErrorString(e));
		failed = true;
		return false;
	}
	bool		ok(cudaError_t e, const char *what)
	{
		return e == cudaSuccess ? true : fail(what, e);
	}
	template <class T> T *alloc(size_t count)
	{
		void	   *p = NULL;
		cudaError_t e;

		if (failed)
			return NULL;
		e = cudaMalloc(&p, count * sizeof(T) + 16);
		if (e != cudaSuccess)
		{
			snprintf(err, errlen, "could not allocate %.1f MB of GPU memory: %s",
					 (double) (count * sizeof(T)) / 1048576.0, cudaGetErrorString(e));
			failed = true;
			return NULL;
		}
		allocs.push_back(p);
		return (T *) p;
	}
	template <class T> bool put(T *dst, const T *src, size_t count)
	{
		return !failed && ok(cudaMemcpy(dst, src, count * sizeof(T), cudaMemcpyHostToDevice),
							 "copy to the GPU");
	}
	template <class T> bool get(T *dst, const T *src, size_t count)
	{
		return !failed && ok(cudaMemcpy(dst, src, count * sizeof(T), cudaMemcpyDeviceToHost),
							 "copy from the GPU");
	}
	bool		launched(const char *what)
	{
		return !failed && ok(cudaGetLastError(), what);
	}

	bool		buffers(bool train, bool use_ema, bool use_best, bool use_mask);
	bool		forward(const float *p, const int *len, const unsigned char *msk, float scale,
							int store);
	bool		backward(const float *p, const int *len, const unsigned char *msk, float scale);
	template <int NR> bool lstm_fwd(int l, const float *p, const int *len, const float *inp,
									int I_fused, int store);
	template <int NR, bool FUSE> bool lstm_bwd(int l, const float *p, const int *len,
											   const float *dtop, const float *inp,
											   int I_fused, int store_da);
	bool		gemm(const Gemm &g, const char *what);

	/*
	 * Where a recurrence kernel keeps the H - NR weights of W_hh a thread
	 * has no registers for, given the floats of shared memory it needs
	 * anyway: none left (0), shared memory (1), or device memory when
	 * shared memory is too small (2); *bytes is its shared memory
	 */
	int			smem_plan(int base_floats, int NR, size_t *bytes) const
	{
		size_t		base = (size_t) base_floats * sizeof(float);
		size_t		rest = (size_t) smem_row(n.H, NR) * n.G * sizeof(float);
		int			wmode = n.H == NR ? 0 : (base + rest <= smem_optin ? 1 : 2);

		*bytes = base + (wmode == 1 ? rest : 0);
		return wmode;
	}
};

/* the network's shape and its tensors' offsets (src/nn/network.c's layout) */
static Net
net_layout(int n_in, int K, int C, int H, int L)
{
	Net			n;
	size_t		o = 0;

	memset(&n, 0, sizeof(n));
	n.n_in = n_in;
	n.K = K;
	n.C = K > 0 ? C : 0;
	n.H = H;
	n.L = L;
	n.G = 4 * H;
	n.I0 = K > 0 ? C : n_in;
	if (K > 0)
	{
		n.conv_w = o;
		o += (size_t) C * n_in * K;
		n.conv_b = o;
		o += C;
	}
	for (int l = 0; l < L; l++)
	{
		size_t		I = l == 0 ? (size_t) n.I0 : (size_t) H;

		n.w_ih[l] = o;
		o += (size_t) n.G * I;
		n.w_hh[l] = o;
		o += (size_t) n.G * H;
		n.b_ih[l] = o;
		o += n.G;
		n.b_hh[l] = o;
		o += n.G;
	}
	n.lin_w = o;
	o += H;
	n.lin_b = o;
	o += 1;
	n.P = o;
	return n;
}

bool
Run::buffers(bool train, bool use_ema, bool use_best, bool use_mask)
{
	size_t		BT = (size_t) B * T_max;
	size_t		BP = (size_t) B * n.P;

	x = alloc<float>(BT * n.n_in);
	y = alloc<float>(BT);
	params = alloc<float>(BP);
	grads = alloc<float>(BP);
	m = train ? alloc<float>(BP) : NULL;
	v = train ? alloc<float>(BP) : NULL;
	ema = use_ema ? alloc<float>(BP) : NULL;
	best = use_best ? alloc<float>(BP) : NULL;
	conv_out = n.K > 0 ? alloc<float>(BT * n.C) : NULL;
	dconv = n.K > 0 ? alloc<float>(BT * n.C) : NULL;
	for (int l = 0; l < n.L; l++)
	{
		gates[l] = alloc<float>(BT * n.G);
		c[l] = alloc<float>(BT * n.H);
		tc[l] = alloc<float>(BT * n.H);
		h[l] = alloc<float>(BT * n.H);
	}
	maskbuf[0] = use_mask ? alloc<unsigned char>(BT * n.H) : NULL;
	maskbuf[1] = use_mask ? alloc<unsigned char>(BT * n.H) : NULL;
	mask = maskbuf[0];
	pred = alloc<float>(BT);
	dpred = alloc<float>(BT);
	dh[0] = alloc<float>(BT * n.H);
	dh[1] = n.L > 1 ? alloc<float>(BT * n.H) : NULL;
	dgates = alloc<float>(BT * n.G);
	len_all = alloc<int>(B);
	len_train = alloc<int>(B);
	zero = alloc<int>(B);
	lo_val = alloc<int>(B);
	rng = use_mask ? alloc<uint64_t>((size_t) B * 4) : NULL;
	if (!failed && m)
	{
		ok(cudaMemset(m, 0, BP * sizeof(float)), "clear Adam's moments");
		ok(cudaMemset(v, 0, BP * sizeof(float)), "clear Adam's moments");
	}
	if (!failed)
		ok(cudaMemset(zero, 0, B * sizeof(int)), "clear");
	return !failed;
}

template <int NR>
bool
Run::lstm_fwd(int l, const float *p, const int *len, const float *inp, int I_fused, int store)
{
	int			H = n.H,
				G = n.G;
	size_t		bytes;
	int			wmode = smem_plan(((H + 3) & ~3) + G, NR, &bytes);
	auto		kern = &k_lstm_fwd<NR>;

	if (bytes > 48 * 1024 && !ok(TSFC_SET_SMEM(kern, bytes), "shared memory of the LSTM kernel"))
		return false;
	TSFC_LAUNCH(kern, dim3(B), dim3(G), bytes, 0,
				n, l, len, T_max, p, wmode, inp, I_fused, store, gates[l], c[l], tc[l], h[l]);
	return launched("LSTM forward");
}

template <int NR, bool FUSE>
bool
Run::lstm_bwd(int l, const float *p, const int *len, const float *dtop, const float *inp,
			  int I_fused, int store_da)
{
	int			G = n.G;
	size_t		bytes;
	int			wmode = smem_plan(2 * G, NR, &bytes);
	auto		kern = &k_lstm_bwd<NR, FUSE>;

	if (bytes > 48 * 1024 && !ok(TSFC_SET_SMEM(kern, bytes), "shared memory of the LSTM kernel"))
		return false;
	TSFC_LAUNCH(kern, dim3(B), dim3(G), bytes, 0,
				n, l, len, T_max, p, wmode, gates[l], c[l], tc[l], dtop, h[l], inp,
				I_fused, store_da, dgates, grads);
	return launched("LSTM backward");
}

static bool
lstm_fwd_any(Run *R, int l, const float *p, const int *len, const float *inp, int I_fused,
			 int store)
{
	switch (pick_nr(R->n.H))
	{
		case 64:
			return R->lstm_fwd<64>(l, p, len, inp, I_fused, store);
		case 40:
			return R->lstm_fwd<40>(l, p, len, inp, I_fused, store);
		case 32:
			return R->lstm_fwd<32>(l, p, len, inp, I_fused, store);
		case 16:
			return R->lstm_fwd<16>(l, p, len, inp, I_fused, store);
		case 8:
			return R->lstm_fwd<8>(l, p, len, inp, I_fused, store);
		default:
			return R->lstm_fwd<0>(l, p, len, inp, I_fused, store);
	}
}

/* whether the backward kernel sums the weight gradients itself (FUSE) */
static bool
fuse_bwd(int H)
{
	static const bool off = getenv("TSFC_NO_FUSE") != NULL;	/* for benchmarks */

	return !off && pick_nr(H) == H && H <= 40;
}

static bool
lstm_bwd_any(Run *R, int l, const float *p, const int *len, const float *dtop,
			 const float *inp, int I_fused, int store_da)
{
	if (fuse_bwd(R->n.H))
		switch (pick_nr(R->n.H))
		{
			case 40:
				return R->lstm_bwd<40, true>(l, p, len, dtop, inp, I_fused, store_da);
			case 32:
				return R->lstm_bwd<32, true>(l, p, len, dtop, inp, I_fused, store_da);
			case 16:
				return R->lstm_bwd<16, true>(l, p, len, dtop, inp, I_fused, store_da);
			case 8:
				return R->lstm_bwd<8, true>(l, p, len, dtop, inp, I_fused, store_da);
		}
	switch (pick_nr(R->n.H))
	{
		case 64:
			return R->lstm_bwd<64, false>(l, p, len, dtop, NULL, 0, 1);
		case 40:
			return R->lstm_bwd<40, false>(l, p, len, dtop, NULL, 0, 1);
		case 32:
			return R->lstm_bwd<32, false>(l, p, len, dtop, NULL, 0, 1);
		case 16:
			return R->lstm_bwd<16, false>(l, p, len, dtop, NULL, 0, 1);
		case 8:
			return R->lstm_bwd<8, false>(l, p, len, dtop, NULL, 0, 1);
		default:
			return R->lstm_bwd<0, false>(l, p, len, dtop, NULL, 0, 1);
	}
}

bool
Run::gemm(const Gemm &g, const char *what)
{
	static const bool big_tiles = getenv("TSFC_GEMM_BIG") != NULL;	/* measured slower */

	if (big_tiles && g.M >= 128 && g.N >= 64)
	{
		auto		kern = &k_gemm<128, 64, 8, 8, 4>;
		int			tiles = ((g.M + 127) / 128) * ((g.N + 63) / 64);

		TSFC_LAUNCH(kern, dim3(tiles, B), dim3(256), 8 * (129 + 65) * sizeof(float), 0, g);
	}
	else
	{
		auto		kern = &k_gemm<64, 32, 16, 4, 2>;
		int			tiles = ((g.M + 63) / 64) * ((g.N + 31) / 32);

		TSFC_LAUNCH(kern, dim3(tiles, B), dim3(256), 16 * (65 + 33) * sizeof(float), 0, g);
	}
	return launched(what);
}

/*
 * The forward pass over the first len[b] steps of each series, params p;
 * store = 0 keeps only the outputs (no caches for a backward pass)
 */
bool
Run::forward(const float *p, const int *len, const unsigned char *msk, float scale, int store)
{
	size_t		BT = (size_t) B * T_max;
	const float *inp = x;
	int			I = n.n_in;

	if (failed)
		return false;
	if (n.K > 0)
	{
		TSFC_LAUNCH(k_conv_fwd, dim3(blocks_for(BT * n.C)), dim3(TPB), 0, 0,
					n, B, len, T_max, x, p, conv_out);
		inp = conv_out;
		I = n.C;
		prof.mark(store ? "forward: conv" : "validation: conv");
	}
	for (int l = 0; l < n.L; l++)
	{
		int			fused = I <= MAX_FUSED_I ? I : 0;

		if (!fused)
			TSFC_LAUNCH(k_inproj, dim3(blocks_for(BT * n.G)), dim3(TPB), 0, 0,
						n, l, B, len, T_max, inp, I, p, gates[l]);
		if (!lstm_fwd_any(this, l, p, len, inp, fused, store))
			return false;
		prof.mark(store ? "forward: LSTM" : "validation: LSTM");
		inp = h[l];
		I = n.H;
	}
	TSFC_LAUNCH(k_linear_fwd, dim3(blocks_for(BT)), dim3(TPB), 0, 0,
				n, B, len, T_max, h[n.L - 1], msk, scale, p, pred);
	prof.mark(store ? "forward: linear" : "validation: linear");
	return launched("forward pass");
}

/*
 * The backward pass of the last forward over the first len[b] steps, from
 * dpred (set by k_mse): every gradient in grads is set.
 */
bool
Run::backward(const float *p, const int *len, const unsigned char *msk, float scale)
{
	size_t		BT = (size_t) B * T_max;
	int			G = n.G,
				H = n.H;
	const float *dtop = dh[0];

	if (failed)
		return false;
	TSFC_LAUNCH(k_linear_bwd, dim3(blocks_for(BT * H)), dim3(TPB), 0, 0,
				n, B, len, T_max, dpred, msk, scale, p, dh[0]);
	TSFC_LAUNCH(k_linear_wgrad, dim3(B), dim3(((H + 1 + 31) / 32) * 32), 0, 0,
				n, len, T_max, dpred, h[n.L - 1], msk, scale, grads);
	prof.mark("backward: linear");
	for (int l = n.L - 1; l >= 0; l--)
	{
		const float *inp = l > 0 ? h[l - 1] : (n.K > 0 ? conv_out : x);
		int			I = l > 0 ? H : n.I0;
		float	   *dinp = l > 0 ? (dtop == dh[0] ? dh[1] : dh[0]) : (n.K > 0 ? dconv : NULL);
		bool		fuse = fuse_bwd(H);
		int			I_fused = fuse && I <= MAX_FUSED_I ? I : 0;
		Gemm		g;

		if (!lstm_bwd_any(this, l, p, len, dtop, inp, I_fused,
						  !fuse || !I_fused || dinp != NULL))
			return false;
		prof.mark("backward: LSTM recurrence");
		/* dW_ih (4H, I) = sum_t da_t inp_t^T */
		if (!I_fused)
		{
			g = Gemm{dgates, (size_t) T_max * G, 1, (size_t) G,
				inp, (size_t) T_max * I, (size_t) I, 1,
				grads + n.w_ih[l], n.P, (size_t) I,
			G, I, T_max, NULL, 0, len, 0};
			if (!gemm(g, "gradient of W_ih"))
				return false;
		}
		if (!fuse)
		{
			/* dW_hh (4H, H) = sum_{t >= 1} da_t h_{t-1}^T */
			g = Gemm{dgates + G, (size_t) T_max * G, 1, (size_t) G,
				h[l], (size_t) T_max * H, (size_t) H, 1,
				grads + n.w_hh[l], n.P, (size_t) H,
			G, H, T_max, NULL, 0, len, -1};
			if (!gemm(g, "gradient of W_hh"))
				return false;
			TSFC_LAUNCH(k_bias_grad, dim3(blocks_for((size_t) B * G)), dim3(TPB), 0, 0,
						n, l, B, len, T_max, dgates, grads);
		}
		/* dinp (T, I) = da (T, 4H) W_ih (4H, I) */
		if (dinp)
		{
			g = Gemm{dgates, (size_t) T_max * G, (size_t) G, 1,
				p + n.w_ih[l], n.P, (size_t) I, 1,
				dinp, (size_t) T_max * I, (size_t) I,
			T_max, I, G, len, 0, NULL, 0};
			if (!gemm(g, "gradient of the LSTM's input"))
				return false;
		}
		dtop = dinp;
		prof.mark("backward: weight gradients");
	}
	if (n.K > 0)
		TSFC_LAUNCH(k_conv_wgrad, dim3(B), dim3(64), 0, 0, n, len, T_max, x, dconv, grads);
	prof.mark("backward: conv");
	return launched("backward pass");
}

/* the configuration checks shared by train and grad */
static int
check_config(int n_in, int K, int C, int H, int L, char *err, size_t errlen)
{
	if (n_in < 1 || n_in > 4096 || K < 0 || K > 64 || (K > 0 && (C < 1 || C > 4096)) ||
		H < 1 || L < 1 || L > TSFC_MAX_LAYERS_)
	{
		snprintf(err, errlen, "invalid network configuration");
		return TSFC_ERROR;
	}
	if (H > TSFC_MAX_HIDDEN)
	{
		snprintf(err, errlen, "hidden size %d is over the CUDA backend's limit of %d",
				 H, TSFC_MAX_HIDDEN);
		return TSFC_UNSUPPORTED;
	}
	return TSFC_OK;
}

#ifdef TSFC_EMULATE
static int
select_device(Run *R, char *name, size_t namelen)
{
	if (name)
		snprintf(name, namelen, "CUDA emulator on the CPU (tsforecast_cuda_emu)");
	R->smem_optin = 227 * 1024;
	return TSFC_OK;
}
#else
static int
select_device(Run *R, char *name, size_t namelen)
{
	int			count = 0;
	cudaDeviceProp prop;
	cudaError_t e = cudaGetDeviceCount(&count);

	if (e != cudaSuccess)
	{
		snprintf(R->err, R->errlen, "%s", cudaGetErrorString(e));
		return TSFC_NO_DEVICE;
	}
	if (count < 1)
	{
		snprintf(R->err, R->errlen, "no CUDA device found");
		return TSFC_NO_DEVICE;
	}
	if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess)
	{
		snprintf(R->err, R->errlen, "%s", cudaGetErrorString(e));
		return TSFC_NO_DEVICE;
	}
	if (prop.major < 8)
	{
		snprintf(R->err, R->errlen,
				 "%s has compute capability %d.%d; the module is built for 8.0 and later",
				 prop.name, prop.major, prop.minor);
		return TSFC_NO_DEVICE;
	}
	R->smem_optin = prop.sharedMemPerBlockOptin;
	if (name)
		snprintf(name, namelen, "%s", prop.name);
	return TSFC_OK;
}
#endif

static int
device_name(char *name, size_t namelen, char *err, size_t errlen)
{
	try
	{
		Run			R(err, errlen);

		return select_device(&R, name, namelen);
	}
	catch (...)
	{
		snprintf(err, errlen, "unexpected failure in the CUDA module");
		return TSFC_ERROR;
	}
}

static int
grad_impl(tsfc_grad *a, char *err, size_t errlen)
{
	Run			R(err, errlen);
	int			rc;
	std::vector<int> lo((size_t) a->B, a->t0),
				hi((size_t) a->B, a->t1),
				all((size_t) a->B, a->T);
	double	   *d_loss;
	int		   *d_lo,
			   *d_hi;

	if ((rc = select_device(&R, NULL, 0)) != TSFC_OK)
		return rc;
	if ((rc = check_config(a->n_in, a->conv_kernel, a->conv_channels, a->hidden,
						   a->layers, err, errlen)) != TSFC_OK)
		return rc;
	if (a->B < 1 || a->T < 1 || a->t0 < 0 || a->t1 > a->T || a->t0 >= a->t1)
	{
		snprintf(err, errlen, "invalid batch or loss range");
		return TSFC_ERROR;
	}
	R.n = net_layout(a->n_in, a->conv_kernel, a->conv_channels, a->hidden, a->layers);
	R.B = a->B;
	R.T_max = a->T;
	if (!R.buffers(false, false, false, false))
		return TSFC_ERROR;
	d_loss = R.alloc<double>(a->B);
	d_lo = R.alloc<int>(a->B);
	d_hi = R.alloc<int>(a->B);
	R.put(R.x, a->x, (size_t) a->B * a->T * a->n_in);
	R.put(R.y, a->y, (size_t) a->B * a->T);
	R.put(R.params, a->params, (size_t) a->B * R.n.P);
	R.put(R.len_all, all.data(), all.size());
	R.put(d_lo, lo.data(), lo.size());
	R.put(d_hi, hi.data(), hi.size());
	if (R.failed)
		return TSFC_ERROR;
	R.forward(R.params, R.len_all, NULL, 1.f, 1);
	TSFC_LAUNCH(k_mse, dim3(a->B), dim3(TPB), TPB * sizeof(double), 0,
				d_lo, d_hi, a->T, R.pred, R.y, d_loss, R.dpred);
	R.launched("loss");
	R.backward(R.params, d_hi, NULL, 1.f);
	R.get(a->pred, R.pred, (size_t) a->B * a->T);
	R.get(a->loss, d_loss, a->B);
	R.get(a->grads, R.grads, (size_t) a->B * R.n.P);
	return R.failed ? TSFC_ERROR : TSFC_OK;
}

/* series0: the index of a's first series in the caller's batch (messages) */
static int
train_impl(tsfc_train *a, char *err, size_t errlen, int series0)
{
	Run			R(err, errlen);
	int			rc;
	int			B = a->B;
	size_t		BP;
	bool		use_mask = a->dropout > 0;
	bool		any_val = false;
	std::vector<int> T_tr((size_t) B),
				stopped_h((size_t) B, 0),
				stopped_now((size_t) B, 0);
	std::vector<double> tl((size_t) B),
				vl((size_t) B);
	std::vector<double> inf((size_t) B, INFINITY);
	double	   *d_tl,
			   *d_vl,
			   *d_best_val;
	int		   *d_best_epoch,
			   *d_stopped,
			   *d_epochs_run,
			   *d_copy;
	float		scale = 1.f;
	uint64_t	thr = 0;
	const float *evalp;

	a->bad_series = a->bad_epoch = 0;
	if ((rc = select_device(&R, NULL, 0)) != TSFC_OK)
		return rc;
	if ((rc = check_config(a->n_in, a->conv_kernel, a->conv_channels, a->hidden,
						   a->layers, err, errlen)) != TSFC_OK)
		return rc;
	if (B < 1 || a->T_max < 2 || a->epochs < 1 || !(a->dropout >= 0 && a->dropout < 1) ||
		!(a->ema >= 0 && a->ema < 1) || a->patience < 0)
	{
		snprintf(err, errlen, "invalid training options");
		return TSFC_ERROR;
	}
	for (int b = 0; b < B; b++)
	{
		if (a->T[b] < 2 || a->T[b] > a->T_max || a->T_train[b] < 2 || a->T_train[b] > a->T[b])
		{
			snprintf(err, errlen, "series %d: invalid length %d (training part %d, longest %d)",
					 series0 + b + 1, a->T[b], a->T_train[b], a->T_max);
			return TSFC_ERROR;
		}
		T_tr[b] = a->T_train[b];
		any_val = any_val || a->T_train[b] < a->T[b];
	}
	if (a->patience > 0 && !any_val)
	{
		snprintf(err, errlen, "patience needs a validation part");
		return TSFC_ERROR;
	}
	R.n = net_layout(a->n_in, a->conv_kernel, a->conv_channels, a->hidden, a->layers);
	R.B = B;
	R.T_max = a->T_max;
	BP = (size_t) B * R.n.P;
	if (!R.buffers(true, a->ema > 0, a->patience > 0, use_mask))
		return TSFC_ERROR;
	d_tl = R.alloc<double>(B);
	d_vl = R.alloc<double>(B);
	d_best_val = R.alloc<double>(B);
	d_best_epoch = R.alloc<int>(B);
	d_stopped = R.alloc<int>(B);
	d_epochs_run = R.alloc<int>(B);
	d_copy = R.alloc<int>(B);
	R.put(R.x, a->x, (size_t) B * a->T_max * a->n_in);
	R.put(R.y, a->y, (size_t) B * a->T_max);
	R.put(R.params, a->params, BP);
	if (R.ema)
		R.put(R.ema, a->params, BP);
	if (R.best)
		R.put(R.best, a->params, BP);
	R.put(R.len_all, a->T, B);
	R.put(R.len_train, T_tr.data(), B);
	R.put(R.lo_val, T_tr.data(), B);
	if (use_mask)
	{
		R.put(R.rng, a->rng, (size_t) B * 4);
		/* as tsf_dropout_mask computes them */
		scale = (float) (1.0 / (1.0 - a->dropout));
		thr = (uint64_t) ceil(ldexp(a->dropout, 53));
	}
	R.put(d_best_val, inf.data(), B);
	{
		std::vector<int> zeros((size_t) B, 0),
					ep((size_t) B, a->epochs);

		R.put(d_best_epoch, zeros.data(), B);
		R.put(d_stopped, zeros.data(), B);
		R.put(d_epochs_run, ep.data(), B);
	}
	if (R.failed)
		return TSFC_ERROR;
	evalp = R.ema ? R.ema : R.params;

	if (use_mask)
	{
		if (!R.streams())
			return TSFC_ERROR;
		TSFC_LAUNCH(k_mask, dim3((B + 63) / 64), dim3(64), 0, R.mstream,
					B, R.len_train, a->T_max, R.n.H, thr, R.rng, R.maskbuf[1]);
		R.ok(cudaEventRecord(R.ready[1], R.mstream), "event");
	}
	for (int epoch = 1; epoch <= a->epochs; epoch++)
	{
		double		bc1 = 1.0 - pow(a->beta1, (double) epoch);
		double		bc2 = 1.0 - pow(a->beta2, (double) epoch);
		double		sum_tl = 0,
					sum_vl = 0;
		int			n_tl = 0,
					n_vl = 0,
					active = 0;
		int			k = epoch % 2;

		if (use_mask)
		{
			/* the next epoch's masks, into the buffer the last epoch used */
			if (epoch < a->epochs)
			{
				R.ok(cudaStreamWaitEvent(R.mstream, R.used[1 - k], 0), "stream wait");
				TSFC_LAUNCH(k_mask, dim3((B + 63) / 64), dim3(64), 0, R.mstream,
							B, R.len_train, a->T_max, R.n.H, thr, R.rng, R.maskbuf[1 - k]);
				R.ok(cudaEventRecord(R.ready[1 - k], R.mstream), "event");
			}
			R.prof.begin();
			R.ok(cudaStreamWaitEvent(0, R.ready[k], 0), "stream wait");
			R.prof.mark("waiting for dropout masks");
			R.mask = R.maskbuf[k];
		}
		else
			R.prof.begin();
		R.forward(R.params, R.len_train, R.mask, scale, 1);
		TSFC_LAUNCH(k_mse, dim3(B), dim3(TPB), TPB * sizeof(double), 0,
					R.zero, R.len_train, a->T_max, R.pred, R.y, d_tl, R.dpred);
		R.prof.mark("loss");
		R.backward(R.params, R.len_train, R.mask, scale);
		if (use_mask)
			R.ok(cudaEventRecord(R.used[k], 0), "event");
		TSFC_LAUNCH(k_adam, dim3(blocks_for(BP)), dim3(TPB), 0, 0,
					BP, R.n.P, d_stopped, R.params, R.grads, R.m, R.v, R.ema, a->ema,
					(float) (a->lr / bc1), (float) sqrt(bc2), (float) a->beta1,
					(float) a->beta2, (float) (1.0 - a->beta1), (float) (1.0 - a->beta2),
					(float) a->eps);
		R.prof.mark("Adam");
		if (any_val)
		{
			R.forward(evalp, R.len_all, NULL, 1.f, 0);
			TSFC_LAUNCH(k_mse, dim3(B), dim3(TPB), TPB * sizeof(double), 0,
						R.lo_val, R.len_all, a->T_max, R.pred, R.y, d_vl, (float *) NULL);
			TSFC_LAUNCH(k_best, dim3((B + 127) / 128), dim3(128), 0, 0,
						B, epoch, a->patience, R.len_train, R.len_all, d_vl, d_best_val,
						d_best_epoch, d_stopped, d_epochs_run, d_copy);
			if (R.best)
				TSFC_LAUNCH(k_copy, dim3(blocks_for(BP)), dim3(TPB), 0, 0,
							BP, R.n.P, d_copy, evalp, R.best);
			R.prof.mark("validation: loss, best");
		}
		if (!R.launched("training epoch"))
			return TSFC_ERROR;
		R.get(tl.data(), d_tl, B);
		if (any_val)
			R.get(vl.data(), d_vl, B);
		R.get(stopped_now.data(), d_stopped, B);
		R.prof.mark("copy of the losses");
		R.prof.end();
		if (R.failed)
			return TSFC_ERROR;

		for (int b = 0; b < B; b++)
		{
			bool		has_val = a->T_train[b] < a->T[b];

			if (stopped_h[b])
				continue;		/* stopped at an earlier epoch */
			a->train_loss[b] = tl[b];
			a->val_loss[b] = has_val ? vl[b] : NAN;
			if (a->loss_curve)
				a->loss_curve[(size_t) (epoch - 1) * B + b] = tl[b];
			if (!isfinite(tl[b]) || (has_val && !isfinite(vl[b])))
			{
				a->bad_series = b + 1;
				a->bad_epoch = epoch;
				snprintf(err, errlen, "series %d: the %s loss is not finite at epoch %d",
						 series0 + b + 1, isfinite(tl[b]) ? "validation" : "training", epoch);
				return TSFC_DIVERGED;
			}
			sum_tl += tl[b];
			n_tl++;
			if (has_val)
			{
				sum_vl += vl[b];
				n_vl++;
			}
			stopped_h[b] = stopped_now[b];
			active += !stopped_now[b];
		}
		if (a->on_epoch &&
			a->on_epoch(a->arg, epoch, a->epochs, n_tl ? sum_tl / n_tl : NAN,
						n_vl ? sum_vl / n_vl : NAN))
		{
			snprintf(err, errlen, "cancelled at epoch %d", epoch);
			return TSFC_CANCELLED;
		}
		if (active == 0)
			break;
	}
	R.get(a->params, R.best ? R.best : (R.ema ? R.ema : R.params), BP);
	R.get(a->best_epoch, d_best_epoch, B);
	R.get(a->epochs_run, d_epochs_run, B);
	return R.failed ? TSFC_ERROR : TSFC_OK;
}

/*
 * Device memory per series of a training call (Run::buffers and the
 * per-series vectors of train_impl), in bytes, for sizing chunks
 */
static size_t
series_bytes(const tsfc_train *a)
{
	size_t		T = (size_t) a->T_max,
				H = (size_t) a->hidden,
				G = 4 * H,
				L = (size_t) a->layers,
				C = a->conv_kernel > 0 ? (size_t) a->conv_channels : 0,
				P = net_layout(a->n_in, a->conv_kernel, a->conv_channels, a->hidden, a->layers).P,
				f;

	f = T * a->n_in + T + P * (4 + (a->ema > 0) + (a->patience > 0)) + 2 * T * C +
		L * (T * G + 3 * T * H) + 2 * T + T * H * (L > 1 ? 2 : 1) + T * G;
	return f * sizeof(float) + (a->dropout > 0 ? 2 * T * H : 0) + 4 * 64 + 64;
}

#ifdef TSFC_EMULATE
static cudaError_t
cudaMemGetInfo(size_t *free_b, size_t *total)
{
	*free_b = *total = (size_t) 1 << 40;
	return cudaSuccess;
}
#endif

/*
 * A batch larger than the GPU's free memory trains in chunks of series,
 * one after another (the series are independent, so the models are the
 * same); the epoch callback then runs through the epochs once per chunk.
 * TSFC_CHUNK_SERIES in the environment caps a chunk (for tests).
 */
static int
train_chunked(tsfc_train *a, char *err, size_t errlen)
{
	size_t		free_b = 0,
				total = 0;
	size_t		per = series_bytes(a);
	long		chunk;
	const char *env = getenv("TSFC_CHUNK_SERIES");
	int			B = a->B;
	size_t		params_per_series = net_layout(a->n_in, a->conv_kernel, a->conv_channels,
											   a->hidden, a->layers).P;

	if (cudaMemGetInfo(&free_b, &total) != cudaSuccess)
		free_b = 0;
	/* a tenth and 256 MB kept free for the context and fragmentation */
	chunk = free_b > ((size_t) 256 << 20) ? (long) ((free_b / 10 * 9 - ((size_t) 256 << 20)) / per) : 0;
	if (env && atol(env) > 0 && atol(env) < chunk)
		chunk = atol(env);
	if (chunk >= B || free_b == 0)
		return train_impl(a, err, errlen, 0);
	if (chunk < 1)
	{
		snprintf(err, errlen, "one series needs %.1f MB of GPU memory; %.1f MB are free",
				 (double) per / 1048576.0, (double) free_b / 1048576.0);
		return TSFC_ERROR;
	}
	for (int b0 = 0; b0 < B; b0 += (int) chunk)
	{
		tsfc_train	c = *a;
		int			n = (int) (B - b0 < chunk ? B - b0 : chunk);
		std::vector<double> curve(a->loss_curve ? (size_t) a->epochs * n : 0);
		int			rc;

		c.B = n;
		c.T_max = a->T_max;		/* the arrays keep the batch's stride */
		c.T = a->T + b0;
		c.T_train = a->T_train + b0;
		c.x = a->x + (size_t) b0 * a->T_max * a->n_in;
		c.y = a->y + (size_t) b0 * a->T_max;
		c.params = a->params + (size_t) b0 * params_per_series;
		c.rng = a->rng ? a->rng + (size_t) b0 * 4 : NULL;
		c.train_loss = a->train_loss + b0;
		c.val_loss = a->val_loss + b0;
		c.best_epoch = a->best_epoch + b0;
		c.epochs_run = a->epochs_run + b0;
		c.loss_curve = a->loss_curve ? curve.data() : NULL;
		rc = train_impl(&c, err, errlen, b0);
		if (rc == TSFC_DIVERGED)
		{
			a->bad_series = c.bad_series + b0;
			a->bad_epoch = c.bad_epoch;
		}
		if (rc != TSFC_OK)
			return rc;
		if (a->loss_curve)
			for (int e = 0; e < a->epochs; e++)
				for (int b = 0; b < n; b++)
					a->loss_curve[(size_t) e * B + b0 + b] = curve[(size_t) e * n + b];
	}
	return TSFC_OK;
}

static int
train(tsfc_train *a, char *err, size_t errlen)
{
	try
	{
		return train_chunked(a, err, errlen);
	}
	catch (const std::bad_alloc &)
	{
		snprintf(err, errlen, "out of host memory in the CUDA module");
		return TSFC_ERROR;
	}
	catch (...)
	{
		snprintf(err, errlen, "unexpected failure in the CUDA module");
		return TSFC_ERROR;
	}
}

static int
grad(tsfc_grad *a, char *err, size_t errlen)
{
	try
	{
		return grad_impl(a, err, errlen);
	}
	catch (...)
	{
		snprintf(err, errlen, "unexpected failure in the CUDA module");
		return TSFC_ERROR;
	}
}

static const tsfc_api api = {TSFC_ABI, device_name, train, grad};

extern "C" __attribute__((visibility("default"))) const tsfc_api *
tsfc_get_api(void)
{
	return &api;
}
