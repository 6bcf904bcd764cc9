#!/usr/bin/env python3
"""bench/cuda_torch.py: the PyTorch/cuDNN peer of bench/cuda_bench.c.

Milliseconds per training epoch of the seed's network over a full batch of
B series on one GPU, with PyTorch's own (cuDNN) LSTM.  A benchmark, not a
test.  Runs with PyTorch 1.13 or 2.x; prints one JSON line per measurement.

    python3 bench/cuda_torch.py [--device cuda|cpu] [--epochs N] [--warmup N]
        [--variants eager,fp32,graph,compile] [--data CSV] BxTxH [BxTxH ...]
    e.g.  python3 bench/cuda_torch.py 1000x500x40 10000x500x40 1000x500x128

The model, as the seed's notebook writes it:
    Conv1d(3, 4, 3, padding=2)[..., :T] -> LSTM(4, H, batch_first=True)
    -> Dropout(0.5) -> Linear(H, 1);  MSE over all T steps, Adam(lr=0.01)
float32, one batch of all B series per epoch.  Unlike the CUDA module, the
B series share one set of weights (this is how cuDNN batches an LSTM): the
same arithmetic per step and series, but one Adam step over P parameters
instead of B of them, and weight gradients summed over the batch.

The data are bench/cuda_bench.c's: series b is T + 1 weeks of the weekly
Verde River flow from week (37 b) mod (1650 - T - 1), times
0.5 + (b mod 10) / 10, log, min-max scaled over the window; inputs
[lag, 0.5 + 0.5 sin 2πs, 0.5 + 0.5 cos 2πs], s the week's phase in a year of
365.25 days from 2000-01-01.

Variants (each on a fresh model, seed 0):
    eager     the plain loop: zero_grad, forward, loss, backward, step;
              PyTorch's defaults (cuDNN may use TF32 where allowed)
    fp32      the same with TF32 off (torch.backends.cudnn.allow_tf32 and
              torch.backends.cuda.matmul.allow_tf32 = False): strict float32
    graph     the whole step captured once in a CUDA graph
              (Adam(capturable=True)) and replayed: no launch overhead
    compile   torch.compile(model) (PyTorch 2.x; slow to compile; not in the
              default list)
Timing: WARMUP epochs, then EPOCHS epochs each between two CUDA events
(synchronized): the median and the mean of those, and the wall time of a
second run of EPOCHS epochs without synchronizing between them, divided by
EPOCHS ("ms_per_epoch_stream").
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn


def load_weeks(path):
    days, flows = [], []
    epoch = None
    import datetime
    d2000 = datetime.date(2000, 1, 1)
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) != 2 or not parts[0][:1].isdigit():
                continue
            d = datetime.date.fromisoformat(parts[0])
            days.append((d - d2000).days)
            flows.append(float(parts[1]))
    return torch.tensor(days, dtype=torch.float64), torch.tensor(flows, dtype=torch.float64)


def make_batch(B, T, days, flows):
    n = flows.numel()
    if T + 2 > n:
        raise SystemExit(f"T = {T} needs at most {n - 2}")
    b = torch.arange(B, dtype=torch.int64)
    start = (37 * b) % (n - T - 1)
    idx = start[:, None] + torch.arange(T + 1)[None, :]
    mult = 0.5 + (b % 10).to(torch.float64) / 10.0
    v = torch.log(flows[idx] * mult[:, None])                      # (B, T+1)
    lo = v.min(dim=1, keepdim=True).values
    hi = v.max(dim=1, keepdim=True).values
    rng = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    s = (v - lo) / rng
    phase = days / 7.0 / (365.25 / 7.0)
    phase = phase - torch.floor(phase)
    a = 2 * math.pi * phase[idx[:, 1:]]
    x = torch.stack([s[:, :-1], 0.5 + 0.5 * torch.sin(a), 0.5 + 0.5 * torch.cos(a)], dim=2)
    y = s[:, 1:]
    return x.float().contiguous(), y.float().contiguous()


class Net(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=2)
        self.lstm = nn.LSTM(4, H, batch_first=True)
        self.drop = nn.Dropout(0.5)
        self.linear = nn.Linear(H, 1)

    def forward(self, x):
        T = x.shape[1]
        z = self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)
        h, _ = self.lstm(z)
        return self.linear(self.drop(h)).squeeze(-1)


class Timer:
    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def epochs(self, step, n):
        """per-epoch ms (synchronized around each)"""
        out = []
        for _ in range(n):
            if self.cuda:
                a = torch.cuda.Event(enable_timing=True)
                b = torch.cuda.Event(enable_timing=True)
                a.record()
                step()
                b.record()
                b.synchronize()
                out.append(a.elapsed_time(b))
            else:
                t0 = time.perf_counter()
                step()
                out.append((time.perf_counter() - t0) * 1e3)
        return out

    def stream(self, step, n):
        self.sync()
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        self.sync()
        return (time.perf_counter() - t0) * 1e3 / n


def run_variant(variant, B, T, H, x, y, device, args, base):
    torch.manual_seed(0)
    strict = variant == "fp32"
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = not strict
        torch.backends.cuda.matmul.allow_tf32 = False if strict else base["matmul_tf32_default"]
    model = Net(H).to(device)
    timer = Timer(device)
    lossf = nn.MSELoss()
    rec = dict(base, impl="torch", variant=variant, B=B, T=T, H=H,
               epochs=args.epochs, warmup=args.warmup)
    t_setup = time.perf_counter()

    if variant in ("eager", "fp32", "compile"):
        fwd = model
        if variant == "compile":
            if not hasattr(torch, "compile"):
                raise RuntimeError("torch.compile needs PyTorch 2.x")
            fwd = torch.compile(model)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        holder = {}

        def step():
            opt.zero_grad(set_to_none=True)
            loss = lossf(fwd(x), y)
            loss.backward()
            opt.step()
            holder["loss"] = loss
    elif variant == "graph":
        if device.type != "cuda":
            raise RuntimeError("CUDA graphs need a GPU")
        opt = torch.optim.Adam(model.parameters(), lr=0.01, capturable=True)
        holder = {}
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):      # warm-up on a side stream, as the docs ask
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(x), y)
                loss.backward()
                opt.step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(g):
            static_loss = lossf(model(x), y)
            static_loss.backward()
            opt.step()
        holder["loss"] = static_loss

        def step():
            g.replay()
    else:
        raise RuntimeError(f"unknown variant {variant}")

    for _ in range(args.warmup):
        step()
    timer.sync()
    rec["setup_and_warmup_s"] = round(time.perf_counter() - t_setup, 3)
    per = timer.epochs(step, args.epochs)
    rec["ms_per_epoch_median"] = round(statistics.median(per), 4)
    rec["ms_per_epoch_mean"] = round(sum(per) / len(per), 4)
    rec["ms_per_epoch_min"] = round(min(per), 4)
    rec["ms_per_epoch_stream"] = round(timer.stream(step, args.epochs), 4)
    rec["loss"] = float(holder["loss"].item())
    if device.type == "cuda":
        rec["max_mem_MiB"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--variants", default="eager,fp32,graph")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "test", "fixtures", "verde_weekly.csv"))
    ap.add_argument("shapes", nargs="+", help="BxTxH, e.g. 1000x500x40")
    args = ap.parse_args()

    device = torch.device(args.device)
    base = {"torch": torch.__version__, "device_kind": device.type}
    if device.type == "cuda":
        base["device"] = torch.cuda.get_device_name(device)
        base["cudnn"] = torch.backends.cudnn.version()
        base["matmul_tf32_default"] = torch.backends.cuda.matmul.allow_tf32
        base["cudnn_tf32_default"] = torch.backends.cudnn.allow_tf32
    else:
        base["device"] = "cpu"
        base["threads"] = torch.get_num_threads()
    days, flows = load_weeks(args.data)
    status = 0
    for shape in args.shapes:
        B, T, H = (int(v) for v in shape.lower().split("x"))
        x, y = make_batch(B, T, days, flows)
        x, y = x.to(device), y.to(device)
        for variant in [v for v in args.variants.split(",") if v]:
            try:
                rec = run_variant(variant, B, T, H, x, y, device, args, base)
            except Exception as e:      # report and go on to the next one
                rec = dict(base, impl="torch", variant=variant, B=B, T=T, H=H,
                           error=f"{type(e).__name__}: {e}"[:500])
                status = 1
            rec.pop("matmul_tf32_default", None)
            print(json.dumps(rec), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
        del x, y
    return status


if __name__ == "__main__":
    sys.exit(main())
