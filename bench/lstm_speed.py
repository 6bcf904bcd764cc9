"""Helper of bench/lstm_speed.sh (a benchmark, not a test).

    python bench/lstm_speed.py torch EPOCHS H [H ...]   time PyTorch, JSON lines
    python3 bench/lstm_speed.py report RESULTS FLOPS     print the tables

torch: trains the seed's network, the one lstm_train fits, on the whole
weekly Verde River series (1989 on, T = 1649 steps) for EPOCHS full-batch
epochs on one CPU thread, for each hidden size H, in float32 (PyTorch's
default) and float64, with whichever torch the interpreter has (Debian's
python3-torch for /usr/bin/python3, or a PyTorch 2.x virtual environment).
Network and recipe, as lstm_train's with '{"ema": 0}':

  x_t = [lag, 0.5 + 0.5 sin 2 pi s_t, 0.5 + 0.5 cos 2 pi s_t]   (T, 3)
  Conv1d(3, 4, 3, causal) -> LSTM(4, H) -> Dropout(0.5) -> Linear(H, 1)
  full batch (the series is one sequence), Adam (lr 0.01), MSE

Two untimed warm-up epochs come first (oneDNN builds its primitives on the
first call); the time is the mean of the timed epochs.

report: reads the JSON lines the driver collected (PyTorch, lstm_train, the
core alone) and bench/flops's output, and prints the table, the ratios
against the targets and the fraction of the core's peak FLOP rate.
"""
import csv
import datetime as dt
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "test", "fixtures", "verde_weekly.csv")
K, C, N_IN, DROPOUT, LR, WARMUP = 3, 4, 3, 0.5, 0.01, 2


def series():
    """x (T, 3), target (T): the whole weekly series, min-max scaled log flow"""
    import numpy as np
    with open(DATA) as f:
        rows = [(dt.date.fromisoformat(r["week_start"]), float(r["flow_cfs"]))
                for r in csv.DictReader(f)]
    logq = np.log([q for _, q in rows])
    s = (logq - logq.min()) / (logq.max() - logq.min())
    epoch = dt.date(2000, 1, 1)
    phase = np.array([((d - epoch).days / 365.25) % 1.0 for d, _ in rows])
    x = np.stack([s[:-1], 0.5 + 0.5 * np.sin(2 * np.pi * phase[1:]),
                  0.5 + 0.5 * np.cos(2 * np.pi * phase[1:])], axis=1)
    return x, s[1:] - s[:-1]


def torch_main(epochs, hiddens):
    import torch

    class Net(torch.nn.Module):
        """x (1, T, 3) -> causal conv -> LSTM -> dropout -> linear -> out (T)"""

        def __init__(self, hidden):
            super().__init__()
            self.conv = torch.nn.Conv1d(N_IN, C, K, padding=K - 1)
            self.lstm = torch.nn.LSTM(C, hidden, 1, batch_first=True)
            self.drop = torch.nn.Dropout(DROPOUT)
            self.out = torch.nn.Linear(hidden, 1)

        def forward(self, x):
            T = x.shape[1]
            z = self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)
            h, _ = self.lstm(z)
            return self.out(self.drop(h))[0, :, 0]

    torch.set_num_threads(1)
    x, y = series()
    cpu = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "")()
    for hidden in hiddens:
        for dtype in (torch.float32, torch.float64):
            torch.manual_seed(42)
            net = Net(hidden).to(dtype)
            net.train()
            opt = torch.optim.Adam(net.parameters(), lr=LR)
            xt = torch.tensor(x, dtype=dtype)[None]
            yt = torch.tensor(y, dtype=dtype)
            for e in range(WARMUP + epochs):
                if e == WARMUP:
                    t0 = time.perf_counter()
                opt.zero_grad()
                loss = torch.mean((net(xt) - yt) ** 2)
                loss.backward()
                opt.step()
            s = (time.perf_counter() - t0) / epochs
            print(json.dumps({"impl": "torch", "version": torch.__version__,
                              "dtype": str(dtype).split(".")[1], "H": hidden, "T": len(y),
                              "epochs": epochs, "s_per_epoch": s, "threads": torch.get_num_threads(),
                              "mkldnn": torch.backends.mkldnn.is_available(),
                              "cpu_capability": cpu}), flush=True)


def dense_flops(T, H):
    """FLOPs of one epoch's matrix products (2 per multiply-add), T steps:
    forward  input projection T 4H I, recurrence (T-1) 4H H, conv, linear;
    backward recurrence dh = W_hh^T da (T-1) 4H H, dW_hh (T-1) 4H H,
             dW_ih and dx T 4H I each, conv dW, linear dW and dx.
    The gates' exp/tanh (5 H T), the elementwise work and Adam are not
    counted: a lower bound of the work, as FLOP rates are usually quoted."""
    I = C
    macs = (3 * (T - 1) * 4 * H * H      # recurrence forward, backward, dW_hh
            + 3 * T * 4 * H * I          # input projection, dW_ih, dx
            + 2 * T * C * N_IN * K       # conv forward, dW
            + 3 * T * H)                 # linear forward, dW, dx
    return 2 * macs


def expected_mb(T, H):
    """lstm_train's training memory by the formula of src/nn/README.md:
    the workspace plus 4 parameter blocks (params, grads, Adam m and v), in
    double; the inputs, the series and the state add a few T-sized arrays"""
    ru = lambda n: (n + 31) // 32 * 32                  # a weight panel, 32 doubles
    work = T * (16 * H + 2 * C + 2) + max(4 * H * max(C, H), H * ru(4 * H), 4 * H * ru(H)) + 7 * H + C
    P = C * N_IN * K + C + 4 * H * (C + H + 2) + H + 1
    return (work + 4 * P) * 8 / 2 ** 20


def report(results_path, flops_path):
    rows = [json.loads(line) for line in open(results_path) if line.startswith("{")]
    peaks = {}
    for line in open(flops_path):
        m = re.match(r"(float\d+) (\S+)\s+(\S+)\s+([\d.]+) GFLOP/s", line)
        if m:
            peaks[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
    hs = sorted({r["H"] for r in rows})

    def get(impl, H, dtype=None, major=None):
        for r in rows:
            if r["impl"] == impl and r["H"] == H and (dtype is None or r["dtype"] == dtype) and \
                    (major is None or r["version"].split(".")[0] == major):
                return r
        return None

    def peak(dtype, fma):
        kind = "fma" if fma else "mul+add"
        for isa in ("AVX-512", "AVX2", "SSE2"):
            if (dtype, isa, kind) in peaks:
                return peaks[(dtype, isa, kind)]
        return float("nan")

    def ms(r):
        return f"{r['s_per_epoch'] * 1000:,.1f}" if r else "—"

    t = next((r["T"] for r in rows), 0)
    e = next((r["epochs"] for r in rows if r["impl"] == "torch"), 0)
    tv1 = next((r["version"] for r in rows if r["impl"] == "torch" and r["version"].startswith("1.")), "1.x")
    tv2 = next((r["version"] for r in rows if r["impl"] == "torch" and not r["version"].startswith("1.")), "2.x")
    ours_dtype = next((r["dtype"] for r in rows if r["impl"] == "lstm_train"), "float32")
    print(f"\nTime per epoch (ms), the seed's network on the whole weekly series (T = {t}), "
          f"full batch, {e} epochs, one thread / one backend\n")
    print("| implementation | precision | " + " | ".join(f"H = {h}" for h in hs) + " |")
    print("| --- | --- |" + " --- |" * len(hs))
    lines = [("lstm_train, one backend", "lstm_train", ours_dtype, None),
             ("network core alone (bench/nn_epoch.c)", "core", "float32", None),
             ("network core alone (bench/nn_epoch.c)", "core", "float64", None),
             (f"PyTorch {tv1} (Debian), 1 thread", "torch", "float32", "1"),
             (f"PyTorch {tv1} (Debian), 1 thread", "torch", "float64", "1"),
             (f"PyTorch {tv2} (PyPI, oneDNN), 1 thread", "torch", "float32", "2"),
             (f"PyTorch {tv2} (PyPI, oneDNN), 1 thread", "torch", "float64", "2")]
    for label, impl, dtype, major in lines:
        print(f"| {label} | {dtype} | " +
              " | ".join(ms(get(impl, h, dtype, major)) for h in hs) + " |")

    mem = [(h, get("lstm_train", h)) for h in hs]
    print("\nlstm_train's backend: VmHWM increase during the training (MB): " +
          ", ".join(f"H = {h}: {r['hwm_increase_kb'] / 1024:.1f}" for h, r in mem if r) +
          "\n  (by the formula of src/nn/README.md, workspace and 4 parameter blocks in float64: " +
          ", ".join(f"H = {h}: {expected_mb(r['T'], h):.1f}" for h, r in mem if r) +
          "; half that in float32)")

    print("\nRatios of lstm_train's time per epoch (targets in brackets)")
    ours40, d40, d40d = get("lstm_train", 40), get("torch", 40, "float32", "1"), get("torch", 40, "float64", "1")
    if ours40 and d40:
        r = d40["s_per_epoch"] / ours40["s_per_epoch"]
        rd = d40d["s_per_epoch"] / ours40["s_per_epoch"] if d40d else float("nan")
        print(f"  H = 40: {r:.0f}x faster than PyTorch {tv1} float32 ({rd:.0f}x its float64) "
              f"[>= 20x: {'met' if r >= 20 else 'NOT met'}]")
    for h in hs:
        ours, p2 = get("lstm_train", h), get("torch", h, "float32", "2")
        if ours and p2:
            f = ours["s_per_epoch"] / p2["s_per_epoch"]
            print(f"  H = {h}: {f:.2f} of PyTorch {tv2} float32's epoch time "
                  f"[<= 0.5: {'met' if f <= 0.5 else 'NOT met'}]")

    print("\nFLOP rate (dense products only, 2 FLOPs per multiply-add) against one core's "
          "measured peak (bench/flops.c)")
    for dt_ in ("float32", "float64"):
        print(f"  peak {dt_}: {peak(dt_, True):.0f} GFLOP/s with FMA, {peak(dt_, False):.0f} without "
              f"(the core's kernels: no FMA contraction)")
    for h in hs:
        fl = dense_flops(t, h)
        parts = []
        for label, r in (("lstm_train", get("lstm_train", h)), ("core float64", get("core", h, "float64")),
                         (f"PyTorch {tv2} float32", get("torch", h, "float32", "2"))):
            if r:
                rate = fl / r["s_per_epoch"] / 1e9
                parts.append(f"{label} {rate:.1f} GFLOP/s = {100 * rate / peak(r['dtype'], True):.0f}% "
                             f"of the {r['dtype']} FMA peak")
        print(f"  H = {h} ({fl / 1e6:,.0f} MFLOP per epoch): " + "; ".join(parts))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "torch":
        torch_main(int(sys.argv[2]), [int(h) for h in sys.argv[3:]])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
