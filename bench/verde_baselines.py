#!/usr/bin/env python3
"""Benchmark (not a test): the HAS-Tools weekly Verde River forecast, replayed.

The users' task (University of Arizona HAS-Tools course, USGS 09506000 Verde
River near Camp Verde): every Monday D of the autumn semester, forecast the
mean flow (cfs) of the current Sunday-to-Saturday week (1 week ahead: the
week starting D-1) and of the next one (2 weeks ahead: the week starting
D+6), from the record up to the Saturday before (the last week used starts
D-8 and ends Saturday D-2).  Autumns 2012 to 2019; issue dates every Monday
from the last Monday of August to the first Monday of December.  Scored by
MAE and RMSE in cfs.  HELDOUT=1: instead, the 35 Mondays after the last of
them, 2019-12-09 to 2020-08-03 (heldout_dates), kept apart from the design.

bench/verde_backtest.sh drives it; this file holds the issue dates (the one
place they are computed), the Python baselines and the report:

  verde_baselines.py issues DIR   DIR/issues.csv: one row per (issue date,
                                  step): year, issue, origin (the Saturday
                                  D-2, the backtest's origin: training rows
                                  have week_start <= origin), last_week
                                  (D-8), step, target (the week's Sunday).
                                  Standard library only.
  verde_baselines.py fit DIR      the Python baselines at every origin:
                                  DIR/python_rows.csv (method, origin, step,
                                  target, forecast, actual) and
                                  DIR/python_methods.csv (timings, notes);
                                  --persistence-only: the others skipped
  verde_baselines.py report DIR   checks that every method forecast the same
                                  (origin, step, target) as the backtest rows
                                  (DIR/tsforecast_rows.csv, written by the
                                  shell script) and the issue dates, then
                                  prints MAE and RMSE per year and pooled

--data FILE picks the weekly series (default test/fixtures/verde_weekly.csv:
week_start, a Sunday; flow_cfs).  The baselines:

  persistence   last week's mean (the week starting D-8) for both horizons
  AutoARIMA     statsforecast, on log flow.  With season_length=52 one fit
                (the 1,391 weeks up to 2015-08-29) had not finished after 21
                minutes of CPU here, when it was stopped (seasonal ARMA terms
                at lag 52 make a state vector of 55 and more), so it runs
                instead with season_length=1 and the 52-week seasonality as 3
                Fourier pairs of regressors (a dynamic harmonic regression,
                the usual treatment of weekly data); ARIMA52=1 adds the
                seasonal one as well (120 such fits: days)
  AutoETS       statsforecast, season_length=52, on log flow.  It takes 52:
                the seasonal models are fitted, and AICc chooses among them
                and the non-seasonal ones (the report counts the choices)
  AutoTheta     statsforecast, season_length=52, on log flow (it takes 52:
                a seasonality test, then a classical multiplicative
                decomposition before the theta models)
  UC            statsmodels UnobservedComponents on log flow: local level,
                AR(1), freq_seasonal [{"period": 52, "harmonics": 3}]
Every model on log flow is back-transformed with exp: the forecast is the
median, not the mean (as tsforecast's AR with "transform": "log").
"""
import argparse
import csv
import datetime as dt
import math
import os
import sys
import textwrap
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "test", "fixtures", "verde_weekly.csv")
YEARS = range(2012, 2020)
HORIZON = 2
SEASON = 52
HARMONICS = 3
ARIMA52 = os.environ.get("ARIMA52", "0") == "1"
# HELDOUT=1: the issue dates after the evaluation autumns instead (below)
HELDOUT = os.environ.get("HELDOUT", "0") == "1"

# ---------------------------------------------------------------------------
# issue dates: the one place they are computed


def issue_dates(year):
    """Mondays from the last Monday of August to the first Monday of December."""
    d = dt.date(year, 8, 31)
    d -= dt.timedelta(days=d.weekday())               # Monday is 0
    end = dt.date(year, 12, 1)
    end += dt.timedelta(days=(7 - end.weekday()) % 7)
    while d <= end:
        yield d
        d += dt.timedelta(days=7)


def heldout_dates():
    """The Mondays after the last evaluation autumn's (2019-12-02), from
    2019-12-09 to 2020-08-03, the last whose 2-week target week the record
    holds: winter floods, the spring melt and a dry summer, seasons the
    automatic spec's candidates were not designed on (HELDOUT=1; "year"
    2020 in the rows)."""
    d = dt.date(2019, 12, 9)
    while d <= dt.date(2020, 8, 3):
        yield d
        d += dt.timedelta(days=7)


def issue_rows():
    """(year, issue, origin, last_week, step, target) for every issue and step"""
    groups = [(2020, heldout_dates())] if HELDOUT else [(y, issue_dates(y)) for y in YEARS]
    for year, dates in groups:
        for d in dates:
            origin = d - dt.timedelta(days=2)          # Saturday D-2
            last = d - dt.timedelta(days=8)            # Sunday of the last week used
            for step in range(1, HORIZON + 1):
                target = last + dt.timedelta(days=7 * step)   # D-1, D+6
                yield year, d, origin, last, step, target


def cmd_issues(args):
    path = os.path.join(args.dir, "issues.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["year", "issue", "origin", "last_week", "step", "target"])
        for r in issue_rows():
            w.writerow([r[0]] + [x.isoformat() for x in r[1:4]] + [r[4], r[5].isoformat()])
    print(f"{path}: {sum(1 for _ in issue_rows()) // HORIZON} issue dates")


# ---------------------------------------------------------------------------
# data


def load_data(path):
    import numpy as np
    import pandas as pd
    d = pd.read_csv(path, parse_dates=["week_start"])
    gaps = d.week_start.diff().dropna().dt.days
    if (gaps != 7).any() or (d.week_start.dt.dayofweek != 6).any():
        sys.exit(f"{path}: not a gapless series of weeks starting on Sundays")
    if not np.isfinite(d.flow_cfs).all() or (d.flow_cfs <= 0).any():
        sys.exit(f"{path}: flows must be finite and positive (the models take logs)")
    return d


def load_issues(dir_):
    import pandas as pd
    return pd.read_csv(os.path.join(dir_, "issues.csv"),
                       parse_dates=["issue", "origin", "last_week", "target"])


# ---------------------------------------------------------------------------
# the Python baselines: each takes the training flows (cfs, ending with the
# week starting D-8) and their positions t in the whole series, and returns
# (forecasts for steps 1..HORIZON in cfs, a short description of the fit)


def fourier(t, period=SEASON, harmonics=HARMONICS):
    """(len(t), 2 harmonics): sin and cos of 2 pi k t / period, k = 1..harmonics"""
    import numpy as np
    t = np.asarray(t, dtype=float)[:, None]
    k = np.arange(1, harmonics + 1)[None, :]
    a = 2 * np.pi * k * t / period
    return np.hstack([np.sin(a), np.cos(a)])


def fit_persistence(y, t):
    return [y[-1]] * HORIZON, ""


def fit_autoarima_harmonics(y, t):
    import numpy as np
    from statsforecast.models import AutoARIMA
    x = fourier(t)
    xf = fourier(np.arange(t[-1] + 1, t[-1] + 1 + HORIZON))
    m = AutoARIMA(season_length=1).fit(np.log(y), X=x)
    f = m.predict(HORIZON, X=xf)["mean"]
    p, q, _, _, _, d, _ = m.model_["arma"]
    return np.exp(f), f"ARIMA({p},{d},{q})"


def fit_autoarima52(y, t):
    import numpy as np
    from statsforecast.arima import arima_string
    from statsforecast.models import AutoARIMA
    m = AutoARIMA(season_length=SEASON).fit(np.log(y))
    return np.exp(m.predict(HORIZON)["mean"]), arima_string(m.model_)


def fit_autoets(y, t):
    import numpy as np
    from statsforecast.models import AutoETS
    m = AutoETS(season_length=SEASON).fit(np.log(y))
    return np.exp(m.predict(HORIZON)["mean"]), m.model_["method"]


def fit_autotheta(y, t):
    import numpy as np
    from statsforecast.models import AutoTheta
    m = AutoTheta(season_length=SEASON).fit(np.log(y))
    desc = m.model_["modeltype"] + (" deseasonalized" if m.model_.get("decompose") else "")
    return np.exp(m.predict(HORIZON)["mean"]), desc


def fit_uc(y, t):
    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.structural import UnobservedComponents
    mod = UnobservedComponents(np.log(y), level="local level", autoregressive=1,
                               freq_seasonal=[{"period": SEASON, "harmonics": HARMONICS}])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", ConvergenceWarning)
        res = mod.fit(disp=False, maxiter=200)
    conv = not any(issubclass(x.category, ConvergenceWarning) for x in w)
    return np.exp(res.forecast(HORIZON)), "converged" if conv else "not converged"


# (method, function, note printed under the tables)
BASELINES = [
    ("persistence", fit_persistence,
     "the week starting D-8, for both horizons"),
    ("AutoARIMA, 3 harmonics (log)", fit_autoarima_harmonics,
     "statsforecast AutoARIMA(season_length=1) with 3 Fourier pairs of period "
     "52 as regressors, on log flow: with season_length=52 one fit had not "
     "finished after 21 minutes of CPU (ARIMA52=1 adds it)"),
    ("AutoETS (log)", fit_autoets,
     "statsforecast AutoETS(season_length=52) on log flow; AICc chooses"),
    ("AutoTheta (log)", fit_autotheta,
     "statsforecast AutoTheta(season_length=52) on log flow"),
    ("UC lvl+AR1+3 harm. (log)", fit_uc,
     "statsmodels UnobservedComponents, local level + AR(1) + "
     "freq_seasonal [{period 52, harmonics 3}], on log flow"),
]
if ARIMA52:
    BASELINES.insert(2, ("AutoARIMA, m=52 (log)", fit_autoarima52,
                         "statsforecast AutoARIMA(season_length=52) on log flow"))
LOG_NOTE = "models on log flow: forecasts back-transformed with exp, i.e. medians"


def cmd_fit(args):
    import numpy as np
    import pandas as pd
    import statsforecast
    import statsforecast.models  # noqa: F401 (imported before the clock starts)
    import statsmodels
    import statsmodels.tsa.statespace.structural  # noqa: F401

    data = load_data(args.data)
    issues = load_issues(args.dir)
    weeks = data.week_start.to_numpy()
    flow = data.flow_cfs.to_numpy()
    actual = dict(zip(data.week_start, data.flow_cfs))
    origins = issues.drop_duplicates("origin")[["origin", "last_week"]]

    # the cut-offs: the rows up to the origin end with the week D-8, and the
    # h-th week after it is the target of step h
    cut = {}
    for o, last in origins.itertuples(index=False):
        n = int(np.searchsorted(weeks, np.datetime64(o), side="right"))
        if n == 0 or pd.Timestamp(weeks[n - 1]) != last:
            sys.exit(f"origin {o.date()}: the last week up to it is not {last.date()}")
        cut[o] = n
    for r in issues.itertuples(index=False):
        n = cut[r.origin]
        want = pd.Timestamp(weeks[n - 1]) + pd.Timedelta(days=7 * r.step)
        if r.target != want:
            sys.exit(f"origin {r.origin.date()} step {r.step}: target {r.target.date()}, "
                     f"the grid says {want.date()}")

    print(f"statsforecast {statsforecast.__version__}, statsmodels {statsmodels.__version__}, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    rows, methods = [], []
    for order, (name, fn, note) in enumerate(BASELINES):
        if args.persistence_only and fn is not fit_persistence:
            methods.append((100 + order, name, "python", "skipped (PYTHON=0)", "", "", note))
            continue
        descs = {}
        t0 = time.perf_counter()
        for o in origins.origin:
            n = cut[o]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f, desc = fn(flow[:n], np.arange(n))
            descs[desc] = descs.get(desc, 0) + 1
            last = pd.Timestamp(weeks[n - 1])
            for h in range(1, HORIZON + 1):
                tgt = last + pd.Timedelta(days=7 * h)
                rows.append((name, o.date(), h, tgt.date(), float(f[h - 1]), actual.get(tgt)))
        secs = time.perf_counter() - t0
        fits = "; ".join(f"{k} {v}" for k, v in sorted(descs.items(), key=lambda kv: -kv[1]) if k)
        methods.append((100 + order, name, "python", "ok", secs, len(origins),
                        note + (f" [fits: {fits}]" if fits else "")))
        print(f"  {name}: {secs:.1f} s for {len(origins)} fits")

    with open(os.path.join(args.dir, "python_rows.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "origin", "step", "target", "forecast", "actual"])
        w.writerows(r[:5] + ("" if r[5] is None else r[5],) for r in rows)
    write_methods(os.path.join(args.dir, "python_methods.csv"), methods)


def write_methods(path, methods):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ord", "method", "source", "status", "seconds", "fits", "note"])
        w.writerows(methods)


# ---------------------------------------------------------------------------
# report


def fail(msg, df=None):
    print(f"\nverde_baselines.py: FAILED: {msg}", file=sys.stderr)
    if df is not None:
        print(df.head(20).to_string(index=False), file=sys.stderr)
    sys.exit(1)


def check_keys(name, rows, ref, ref_name):
    """rows must forecast exactly ref's (origin, step, target): joined on
    origin and target week, the steps must agree and nothing be missing"""
    keys = ["origin", "step", "target"]
    dup = rows[rows.duplicated(["origin", "step"], keep=False)]
    if len(dup):
        fail(f"{name}: more than one row per (origin, step)", dup[keys])
    j = rows[keys].merge(ref[keys], on=["origin", "target"], how="outer",
                         suffixes=("", "_ref"), indicator=True)
    bad = j[(j._merge != "both") | (j.step != j.step_ref)]
    if len(bad):
        bad = bad.rename(columns={"_merge": "in", "step": f"step ({name})",
                                  "step_ref": f"step ({ref_name})"})
        bad["in"] = bad["in"].map({"left_only": f"only {name}", "right_only": f"only {ref_name}",
                                   "both": "both"})
        fail(f"{name} and {ref_name} differ in (origin, step, target) on {len(bad)} rows", bad)


def metrics(g):
    import numpy as np
    e = g.forecast - g.actual
    return np.abs(e).mean(), math.sqrt((e ** 2).mean())


def cmd_report(args):
    import numpy as np
    import pandas as pd

    data = load_data(args.data)
    issues = load_issues(args.dir)
    value = dict(zip(data.week_start, data.flow_cfs))

    def read(name):
        p = os.path.join(args.dir, name)
        return pd.read_csv(p, parse_dates=["origin", "target"]) if os.path.exists(p) else None

    frames = [f for f in (read("tsforecast_rows.csv"), read("python_rows.csv"))
              if f is not None and len(f)]
    rows = pd.concat(frames, ignore_index=True)
    meths = pd.concat([pd.read_csv(os.path.join(args.dir, n), keep_default_na=False)
                       for n in ("tsforecast_methods.csv", "python_methods.csv")
                       if os.path.exists(os.path.join(args.dir, n))], ignore_index=True)
    meths = meths.sort_values("ord", kind="stable")

    # every method's (origin, step, target): the issue dates', and the
    # python baselines' the same as the backtest rows'
    ref = issues[["origin", "step", "target"]]
    ok = meths[meths.status == "ok"]
    bt = [m for m, s in zip(ok.method, ok.source) if s == "tsforecast"]
    for m, src in zip(ok.method, ok.source):
        r = rows[rows.method == m]
        check_keys(m, r, ref, "the issue dates")
        if src == "python" and bt:
            check_keys(m, r, rows[rows.method == bt[0]], f"backtest ({bt[0]})")
    checked = [f"every method's {len(ref)} (origin, step, target) are the issue dates'"]
    if bt:
        checked.append(f"the Python baselines' are the backtest rows' ({bt[0]})")
    else:
        checked.append("no backtest rows to check the Python baselines' against")
    checked.append("every actual is the data's flow of the target week (to the weekly file's 4 decimals)")

    # the actuals: the data's value at the target week (the backtest's own;
    # a daily model's bucket backtest's are the daily means of the week,
    # which the weekly file holds to 4 decimals: equal to 5e-5)
    want = rows.target.map(value)
    bad = rows[~np.isclose(rows.actual, want, rtol=1e-9, atol=5e-5 + 1e-9, equal_nan=True)]
    if len(bad):
        fail("rows whose actual is not the data's flow of the target week", bad)
    if rows.actual.isna().any():
        fail("targets without an actual flow", rows[rows.actual.isna()])
    if not np.isfinite(rows.forecast).all():
        fail("forecasts that are not finite", rows[~np.isfinite(rows.forecast)])

    rows = rows.merge(issues[["origin", "year", "issue"]].drop_duplicates(), on="origin")
    names = list(meths.method)
    status = dict(zip(meths.method, meths.status))
    w = max(28, max(len(n) for n in names))

    def table(sub, title, order=None, mean_col=False):
        print(f"\n{title}")
        hdr = f"{'':{w}}  {'1 week':>15}  {'2 weeks':>15}"
        print(hdr + ("  {:>7}".format("mean") if mean_col else ""))
        print(f"{'method':{w}}  {'MAE':>7} {'RMSE':>7}  {'MAE':>7} {'RMSE':>7}"
              + ("  {:>7}".format("MAE") if mean_col else ""))
        print("-" * w + "  " + "-" * 15 + "  " + "-" * 15 + ("  -------" if mean_col else ""))
        for n in order or names:
            if status[n] != "ok":
                print(f"{n:{w}}  {status[n]}")
                continue
            g = sub[sub.method == n]
            (a1, r1), (a2, r2) = metrics(g[g.step == 1]), metrics(g[g.step == 2])
            print(f"{n:{w}}  {a1:7.1f} {r1:7.1f}  {a2:7.1f} {r2:7.1f}"
                  + (f"  {(a1 + a2) / 2:7.1f}" if mean_col else ""))

    nissue = issues.issue.nunique()
    print("Verde River near Camp Verde, AZ (USGS 09506000): mean flow of a Sunday-to-Saturday"
          " week, cfs")
    span = (f"Mondays from {issues.issue.min().date()} to {issues.issue.max().date()}"
            f" (HELDOUT=1: after the evaluation autumns)" if HELDOUT else
            f"Mondays from the last of August to the first of December, {min(YEARS)}-{max(YEARS)}")
    print(f"{nissue} issue dates D, {span}; data through Saturday D-2;")
    print("1 week ahead = the week starting D-1, 2 weeks ahead = the week starting D+6")
    print("checked: " + ";\n         ".join(checked))
    for year, sub in rows.groupby("year"):
        iss = issues[issues.year == year].issue
        table(sub, f"== {year}: {iss.nunique()} issue dates, {iss.min().date()} to "
                   f"{iss.max().date()}")
    table(rows, f"== pooled, {'held out' if HELDOUT else f'{min(YEARS)}-{max(YEARS)}'}:"
                f" {nissue} issue dates x 2 horizons")

    score = {}
    for n in names:
        g = rows[rows.method == n]
        score[n] = (np.mean([metrics(g[g.step == h])[0] for h in (1, 2)])
                    if status[n] == "ok" else math.inf)
    table(rows, "== pooled, sorted by the mean of the MAEs at 1 and 2 weeks",
          order=sorted(names, key=lambda n: score[n]), mean_col=True)

    print("\ntime (this run, all issue dates)")
    print(f"{'method':{w}}  {'fits':>5}  {'total s':>8}  {'s / fit':>8}")
    for r in meths.itertuples(index=False):
        if r.status != "ok":
            print(f"{r.method:{w}}  {r.status}")
            continue
        s = float(r.seconds)
        print(f"{r.method:{w}}  {int(r.fits):5d}  {s:8.1f}  {s / int(r.fits):8.3f}")

    print("\nnotes")
    for r in meths.itertuples(index=False):
        if r.note:
            print(textwrap.fill(f"- {r.method}: {r.note}", width=100, subsequent_indent="  "))
    print(f"- {LOG_NOTE}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["issues", "fit", "report"])
    p.add_argument("dir", help="where the CSV files are written and read")
    p.add_argument("--data", default=DATA, help="the weekly series (week_start, flow_cfs)")
    p.add_argument("--persistence-only", action="store_true",
                   help="fit: of the baselines only persistence (the others are listed as skipped)")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    {"issues": cmd_issues, "fit": cmd_fit, "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    main()
