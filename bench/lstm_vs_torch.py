#!/usr/bin/python3
"""Benchmark (not a test): lstm_train against the same network in PyTorch.

    /usr/bin/python3 bench/lstm_vs_torch.py        (Debian's python3-torch)

The task is the seed notebook's: the Verde River weekly series from
2010-02-01 on, the first 67% of the weeks train, the rest test, one-step-ahead
r2 of log flow.  Both sides train the same model with the same recipe, the
defaults of lstm_train:

  inputs  x_t = [lag, 0.5 + 0.5 sin 2πs_t, 0.5 + 0.5 cos 2πs_t], the lag the
          log flow of week t-1 min-max scaled on the training weeks, s_t the
          phase of week t in the year (days since 2000-01-01 / 365.25)
  network Conv1d(3, 4, 3, causal) -> LSTM(4, 40) -> Dropout(0.5) -> Linear(40, 1)
  output  pred_t = lag_t + out_t (the residual connection)
  train   full batch, 200 epochs of Adam (lr 0.01) on the MSE, an exponential
          moving average of the weights (decay 0.98) is the final model

PyTorch's initialization and dropout streams differ from tsforecast's, so the
weights differ; the comparison is of time per epoch and of r2.  PyTorch runs
on one thread (lstm_train is single-threaded), in float32 (the core's
default precision) and float64 (its NN_PRECISION=float64 build).  A second table times 20 epochs on the whole
1989-2020 series (T = 1649).

tsforecast runs in a throwaway cluster started with scripts/tsf (port 54332,
or set TSF_PGROOT / TSF_PGPORT); `scripts/tsf setup` builds and installs it
first.  AR(1) on the same split is printed for reference.
"""
import csv
import datetime as dt
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "test", "fixtures", "verde_weekly.csv")
EPOCHS, HIDDEN, K, C, DROPOUT, LR, EMA = 200, 40, 3, 4, 0.5, 0.01, 0.98
PGROOT = os.environ.get("TSF_PGROOT", "/tmp/tsforecast-bench-lstm")
PGPORT = os.environ.get("TSF_PGPORT", "54332")


def load(since):
    with open(DATA) as f:
        rows = [(dt.date.fromisoformat(r["week_start"]), float(r["flow_cfs"]))
                for r in csv.DictReader(f)]
    return [r for r in rows if r[0] >= since]


def r2(y, p):
    y, p = np.asarray(y), np.asarray(p)
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


class Net(torch.nn.Module):
    """x (1, T, 3) -> causal conv -> LSTM -> dropout -> linear -> out (T)"""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, C, K, padding=K - 1)
        self.lstm = torch.nn.LSTM(C, HIDDEN, 1, batch_first=True)
        self.drop = torch.nn.Dropout(DROPOUT)
        self.out = torch.nn.Linear(HIDDEN, 1)

    def forward(self, x):
        T = x.shape[1]
        z = self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)
        h, _ = self.lstm(z)
        return self.out(self.drop(h))[0, :, 0]


def inputs(rows, n_train):
    """x (T, 3), lag (T), target (T) for T = len(rows) - 1, scaled on rows 0..n_train-1"""
    logq = np.log([q for _, q in rows])
    lo, hi = logq[:n_train].min(), logq[:n_train].max()
    s = (logq - lo) / (hi - lo)
    epoch = dt.date(2000, 1, 1)
    phase = np.array([((d - epoch).days / 365.25) % 1.0 for d, _ in rows])
    x = np.stack([s[:-1], 0.5 + 0.5 * np.sin(2 * np.pi * phase[1:]),
                  0.5 + 0.5 * np.cos(2 * np.pi * phase[1:])], axis=1)
    return x, s[:-1], s[1:], logq, lo, hi


def torch_run(rows, n_train, dtype, epochs=EPOCHS, score=True):
    torch.manual_seed(42)
    x, lag, target, logq, lo, hi = inputs(rows, n_train)
    T_train = n_train - 1
    net = Net().to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    xt = torch.tensor(x, dtype=dtype)[None]
    dy = torch.tensor(target - lag, dtype=dtype)       # the residual's target
    ema = [p.detach().clone() for p in net.parameters()]
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        opt.zero_grad()
        loss = torch.mean((net(xt[:, :T_train]) - dy[:T_train]) ** 2)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(EMA).add_(p, alpha=1 - EMA)
    ms = (time.perf_counter() - t0) * 1000 / epochs
    if not score:
        return ms, None, None
    with torch.no_grad():
        for e, p in zip(ema, net.parameters()):
            p.copy_(e)
        net.eval()
        pred = lag + net(xt).numpy()                    # teacher forcing, no dropout
    pred_log = lo + pred * (hi - lo)
    y = logq[1:]
    return ms, r2(y[:T_train], pred_log[:T_train]), r2(y[T_train:], pred_log[T_train:])


def psql(sql):
    env = dict(os.environ, PGHOST=PGROOT, PGPORT=PGPORT, PGUSER="postgres",
               PGOPTIONS="-c search_path=public,tsforecast")
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1",
                          "-d", "postgres", "-c", sql],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def tsforecast_run():
    env = dict(os.environ, TSF_PGROOT=PGROOT, TSF_PGPORT=PGPORT)
    tsf = os.path.join(ROOT, "scripts", "tsf")
    subprocess.run([tsf, "setup"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([tsf, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        psql("CREATE EXTENSION tsforecast; "
             "CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL)")
        env2 = dict(os.environ, PGHOST=PGROOT, PGPORT=PGPORT, PGUSER="postgres")
        subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c",
                        f"\\copy verde FROM '{DATA}' WITH (FORMAT csv, HEADER true)"],
                       env=env2, check=True)
        psql("""CREATE TABLE v10 AS
                SELECT week_start, flow, ln(flow) AS logflow,
                       CASE WHEN row_number() OVER (ORDER BY week_start) <= floor(0.67 * count(*) OVER ())
                            THEN 'train' ELSE 'test' END AS period
                  FROM verde WHERE week_start >= '2010-02-01'""")
        res = {}
        for name, q in [("lstm", "lstm_train(week_start, flow)"),
                        ("ar1", "ar_fit(week_start, logflow, '{\"order\": 1}')")]:
            psql(f"CREATE TABLE m_{name} AS SELECT {q} AS m FROM v10 WHERE period = 'train'")
            secs = float(psql(f"SELECT model_info(m)->>'fit_seconds' FROM m_{name}"))
            col = "ln(p)" if name == "lstm" else "p"
            val = "flow" if name == "lstm" else "logflow"
            out = psql(f"""SELECT period, r2(logflow, {col}) FROM
                             (SELECT period, logflow, predict(m, week_start, {val})
                                       OVER (ORDER BY week_start) AS p FROM v10, m_{name}) s
                            GROUP BY 1""")
            scores = dict(line.split("|") for line in out.splitlines())
            res[name] = (secs, float(scores["train"]), float(scores["test"]))
        long_secs = float(psql("""SELECT model_info(lstm_train(week_start, flow,
                                     '{"epochs": 20}'))->>'fit_seconds' FROM verde"""))
        return res, long_secs
    finally:
        subprocess.run([tsf, "stop"], env=env, stdout=subprocess.DEVNULL)


def main():
    torch.set_num_threads(1)
    rows = load(dt.date(2010, 2, 1))
    n_train = math.floor(0.67 * len(rows))
    res, long_secs = tsforecast_run()
    lstm_secs, lstm_r2_train, lstm_r2_test = res["lstm"]
    _, ar_r2_train, ar_r2_test = res["ar1"]
    print(f"Verde weekly from 2010-02-01: {len(rows)} weeks, {n_train} train "
          f"(T = {n_train - 1} steps), {len(rows) - n_train} test; {EPOCHS} epochs; "
          f"torch {torch.__version__}, 1 thread\n")
    print("| model | precision | ms / epoch | r2 train | r2 test |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| tsforecast lstm_train | float64 | {lstm_secs * 1000 / EPOCHS:.2f} "
          f"| {lstm_r2_train:.3f} | {lstm_r2_test:.3f} |")
    for dtype, name in [(torch.float64, "float64"), (torch.float32, "float32")]:
        ms, a, b = torch_run(rows, n_train, dtype)
        print(f"| PyTorch, same network and recipe | {name} | {ms:.2f} | {a:.3f} | {b:.3f} |")
    print(f"| AR(1), ar_fit | float64 | | {ar_r2_train:.3f} | {ar_r2_test:.3f} |")

    full = load(dt.date(1989, 1, 1))
    print(f"\nWhole series, T = {len(full) - 1} steps, 20 epochs:\n")
    print("| model | precision | ms / epoch |")
    print("| --- | --- | --- |")
    print(f"| tsforecast lstm_train | float64 | {long_secs * 1000 / 20:.2f} |")
    for dtype, name in [(torch.float64, "float64"), (torch.float32, "float32")]:
        ms, _, _ = torch_run(full, len(full), dtype, epochs=20, score=False)
        print(f"| PyTorch | {name} | {ms:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
