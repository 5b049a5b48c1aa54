#!/usr/bin/python3
"""Plots the CSV files of build/examples/experiments as the paper's figures (PNG).

    /usr/bin/python3 bench/plot_figures.py --data DIR --out docs/figures [--only figure1 ...]
    /usr/bin/python3 bench/plot_figures.py --data DIR --tables   # the numbers, as Markdown

Reads <figure>_epochs.csv, <figure>_steps.csv and <figure>_summary.csv (and figure7_evals.csv)
from DIR and writes figure1.png, figure5.png, figure6_heatmap.png, figure6_curves.png,
figure6_phases.png, figure7.png and figure4_eta.png to --out. Runs repeated over seeds are drawn
as their mean with the band from the lowest to the highest seed. Needs only matplotlib and numpy
(Debian python3-matplotlib).
bench/reproduce.sh runs it; docs/results.md shows the results.
"""
import argparse
import csv
import math
import os
import sys
from collections import OrderedDict, defaultdict

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.exit(
        "plot_figures.py: matplotlib (and numpy) are needed to draw the figures: "
        "apt-get install -y python3-matplotlib, and run this with /usr/bin/python3 (%s)" % error
    )

RUN_KEYS = ("method", "lr", "depth", "width", "batch", "seed")
COLOURS = {"agd": "tab:blue", "adam": "tab:orange", "sgd": "tab:green"}


def read_csv(path):
    """Rows as dicts with numbers converted; missing file: []."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out = {}
            for key, value in row.items():
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
            out.setdefault("seed", 0.0)  # CSV written before the seed column: seed 0
            rows.append(out)
    return rows


def by_run(rows):
    """Groups rows by run (method, lr, depth, width, batch), in order of appearance."""
    runs = OrderedDict()
    for row in rows:
        runs.setdefault(tuple(row[k] for k in RUN_KEYS), []).append(row)
    return runs


def column(rows, key):
    return np.array([r[key] for r in rows], dtype=float)


def label(run):
    method, lr = run[0], run[1]
    return "AGD" if method == "agd" else "%s lr %g" % ("Adam" if method == "adam" else "SGD", lr)


def smooth(values, window):
    """Trailing moving average (window 1: unchanged), same length as values."""
    if window <= 1 or len(values) < 2:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    for i in range(len(values)):
        lo = max(0, i + 1 - window)
        out[i] = (cumulative[i + 1] - cumulative[lo]) / (i + 1 - lo)
    return out


def step_epochs(steps, epochs_rows):
    """x axis in epochs for a run's step rows: step / steps per epoch."""
    per_epoch = epochs_rows[0]["steps"] if epochs_rows else max(1.0, len(steps))
    return column(steps, "step") / per_epoch


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("plot_figures.py: wrote", path)


def by_config(runs):
    """Groups runs that differ only in their seed: {(method, lr, depth, width, batch): {seed: rows}}."""
    configs = OrderedDict()
    for run, rows in runs.items():
        configs.setdefault(run[:5], OrderedDict())[run[5]] = rows
    return configs


def over_seeds(per_seed, key):
    """(x, mean, low, high) of column `key` over the seeds' rows, on the epochs all of them have."""
    n = min(len(rows) for rows in per_seed.values())
    values = np.array([column(rows[:n], key) for rows in per_seed.values()])
    x = column(next(iter(per_seed.values()))[:n], "epoch")
    return x, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def seeds_note(per_seed):
    return "" if len(per_seed) == 1 else " (%d seeds)" % len(per_seed)


def band_plot(ax, per_seed, key, colour, name, style="-", scale=1.0):
    """Mean over the seeds as a line, lowest to highest seed as a band."""
    x, mean, low, high = over_seeds(per_seed, key)
    ax.plot(x, scale * mean, style, color=colour, label=name)
    if len(per_seed) > 1:
        ax.fill_between(x, scale * low, scale * high, color=colour, alpha=0.2, lw=0)


def accuracy_panel(ax, runs, colour_of, label_of):
    """Train (solid) and test (dotted) accuracy per epoch; runs differing only in seed are drawn
    as their mean and min-max band."""
    for config, per_seed in by_config(runs).items():
        c = colour_of(config)
        name = label_of(config) + seeds_note(per_seed)
        band_plot(ax, per_seed, "train_acc", c, name + " train", "-", 100)
        band_plot(ax, per_seed, "test_acc", c, name + " test", ":", 100)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)


def figure1(data, out):
    epochs = by_run(read_csv(os.path.join(data, "figure1_epochs.csv")))
    if not epochs:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colour = lambda run: COLOURS.get(run[0], "k")
    accuracy_panel(axes[0], epochs, colour, label)
    axes[0].axhline(10, color="grey", lw=0.8, ls="--")
    axes[0].set_title("accuracy (solid: train, dotted: test)")
    axes[0].legend(fontsize=7, ncol=1)
    for config, per_seed in by_config(epochs).items():
        band_plot(axes[1], per_seed, "train_loss", colour(config),
                  label(config) + seeds_note(per_seed))
    axes[1].set_yscale("log")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("train objective (MSE)")
    axes[1].set_title("objective")
    axes[1].grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=8)
    seeds = len({run[5] for run in epochs})
    fig.suptitle("Figure 1 (left) on Fashion-MNIST: 32-layer width-256 FCN, defaults "
                 "(Adam 1e-3, SGD 0.1) vs AGD%s" % (
                     "; mean and min-max over %d seeds" % seeds if seeds > 1 else ""))
    fig.tight_layout()
    save(fig, out, "figure1.png")
    return True


def first_seed(summary):
    return min(r["seed"] for r in summary) if summary else 0.0


def best_lr(summary, method):
    """The grid point with the best final test accuracy among the first seed's runs that did not
    diverge (the first seed runs the whole grid; further seeds only the chosen rates)."""
    seed = first_seed(summary)
    candidates = [r for r in summary if r["method"] == method and r["status"] == "ok"
                  and r["seed"] == seed and not math.isnan(r["final_test_acc"])]
    if not candidates:
        return None
    return max(candidates, key=lambda r: r["final_test_acc"])["lr"]


def figure5(data, out):
    epochs = by_run(read_csv(os.path.join(data, "figure5_epochs.csv")))
    summary = read_csv(os.path.join(data, "figure5_summary.csv"))
    if not epochs:
        return False
    chosen = {"agd": 0.0, "adam": best_lr(summary, "adam"), "sgd": best_lr(summary, "sgd")}
    shown = OrderedDict((run, rows) for run, rows in epochs.items()
                        if chosen.get(run[0]) is not None and run[1] == chosen[run[0]])
    colour = lambda run: COLOURS.get(run[0], "k")
    tuned = lambda run: label(run) + ("" if run[0] == "agd" else " (best)")
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    for config, per_seed in by_config(shown).items():
        name = tuned(config) + seeds_note(per_seed)
        band_plot(axes[0], per_seed, "train_loss", colour(config), name + " train", "-")
        band_plot(axes[0], per_seed, "test_loss", colour(config), name + " test", ":")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("objective (MSE)")
    axes[0].set_title("objective\n(mean; band: min-max over seeds)", fontsize=10)
    axes[0].grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    accuracy_panel(axes[1], shown, colour, tuned)
    axes[1].set_title("accuracy\n(solid: train, dotted: test)", fontsize=10)
    axes[1].legend(fontsize=7)
    for config, per_seed in by_config(shown).items():
        rows = next(iter(per_seed.values()))  # the first seed
        e = column(rows, "epoch")
        axes[2].plot(e, column(rows, "upd_mean"), "-", color=colour(config), label=tuned(config))
        axes[2].fill_between(e, column(rows, "upd_min"), column(rows, "upd_max"),
                             color=colour(config), alpha=0.2)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("(1/L) sum_k |dW_k|_F / |W_k|_F")
    axes[2].set_title("relative update size\n(first seed; band: min-max over the epoch)", fontsize=10)
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend(fontsize=7)
    seed = first_seed(summary)
    for method in ("adam", "sgd"):
        rows = sorted([r for r in summary if r["method"] == method and r["seed"] == seed],
                      key=lambda r: r["lr"])
        if not rows:
            continue
        lrs = [r["lr"] for r in rows]
        acc = [0.0 if r["status"] != "ok" or math.isnan(r["final_test_acc"])
               else 100 * r["final_test_acc"] for r in rows]
        axes[3].plot(lrs, acc, "o-", color=COLOURS[method], label=label((method, 0))[:4].strip())
        for r, a in zip(rows, acc):
            if r["status"] != "ok":
                axes[3].annotate("diverged", (r["lr"], a), fontsize=7, rotation=90)
        repeats = [100 * r["final_test_acc"] for r in summary
                   if r["method"] == method and r["lr"] == chosen[method]]
        if len(repeats) > 1:
            axes[3].errorbar([chosen[method]], [np.mean(repeats)],
                             yerr=[[np.mean(repeats) - min(repeats)],
                                   [max(repeats) - np.mean(repeats)]],
                             fmt="none", ecolor="k", capsize=4)
    agd_acc = [100 * r["final_test_acc"] for r in summary if r["method"] == "agd"]
    if agd_acc:
        axes[3].axhline(np.mean(agd_acc), color=COLOURS["agd"], label="AGD (no learning rate)")
        if len(agd_acc) > 1:
            axes[3].axhspan(min(agd_acc), max(agd_acc), color=COLOURS["agd"], alpha=0.2)
    axes[3].set_xscale("log")
    axes[3].set_xlabel("learning rate")
    axes[3].set_ylabel("final test accuracy (%)")
    axes[3].set_ylim(0, 100)
    axes[3].set_title("learning-rate grid\n(first seed; bars and band: min-max over seeds)",
                      fontsize=10)
    axes[3].grid(alpha=0.3, which="both")
    axes[3].legend(fontsize=8)
    fig.suptitle("Figure 5 on Fashion-MNIST: depth-8 width-256 FCN, AGD vs Adam and SGD tuned "
                 "over {1e-5..1e-1}")
    fig.tight_layout()
    save(fig, out, "figure5.png")
    return True


def heat(ax, grid, depths, widths, title):
    image = ax.imshow(grid, origin="lower", cmap="viridis", vmin=np.nanmin(grid),
                      vmax=np.nanmax(grid), aspect="auto")
    ax.set_xticks(range(len(widths)), [str(int(w)) for w in widths])
    ax.set_yticks(range(len(depths)), [str(int(d)) for d in depths])
    ax.set_xlabel("width")
    ax.set_ylabel("depth")
    ax.set_title(title)
    for i in range(len(depths)):
        for j in range(len(widths)):
            if not math.isnan(grid[i, j]):
                ax.text(j, i, "%.1f" % grid[i, j], ha="center", va="center", color="w",
                        fontsize=8)
    plt.colorbar(image, ax=ax)


def figure6(data, out):
    summary = read_csv(os.path.join(data, "figure6_summary.csv"))
    epochs = by_run(read_csv(os.path.join(data, "figure6_epochs.csv")))
    steps = by_run(read_csv(os.path.join(data, "figure6_steps.csv")))
    if not summary:
        return False
    depths = sorted({r["depth"] for r in summary})
    widths = sorted({r["width"] for r in summary})
    grids = {k: np.full((len(depths), len(widths)), np.nan)
             for k in ("final_train_acc", "final_test_acc")}
    for r in summary:
        for k in grids:
            grids[k][depths.index(r["depth"]), widths.index(r["width"])] = 100 * r[k]
    n_epochs = int(max(r["epochs_done"] for r in summary))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    heat(axes[0], grids["final_train_acc"], depths, widths,
         "train accuracy (%%, epoch %d's batches)" % n_epochs)
    heat(axes[1], grids["final_test_acc"], depths, widths,
         "test accuracy (%%) after %d epochs" % n_epochs)
    fig.suptitle("Figure 6 on Fashion-MNIST: AGD over depth x width (batch 128, no tuning)")
    fig.tight_layout()
    save(fig, out, "figure6_heatmap.png")

    fig, axes = plt.subplots(2, len(depths), figsize=(3.6 * len(depths), 6.4), squeeze=False)
    cmap = plt.get_cmap("plasma")
    for col, depth in enumerate(depths):
        for run, rows in steps.items():
            if run[2] != depth:
                continue
            c = cmap(widths.index(run[3]) / max(1, len(widths)))
            x = step_epochs(rows, epochs.get(run, []))
            window = max(1, len(rows) // 60)
            axes[0][col].plot(x, smooth(column(rows, "eta"), window), color=c,
                              label="width %d" % run[3])
            axes[1][col].plot(x, smooth(column(rows, "loss"), window), color=c,
                              label="width %d" % run[3])
        axes[0][col].set_title("depth %d" % depth)
        axes[0][col].set_ylabel("eta (moving average)")
        axes[1][col].set_ylabel("train objective (moving average)")
        axes[1][col].set_yscale("log")
        for row in (0, 1):
            axes[row][col].set_xlabel("epoch")
            axes[row][col].grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Figure 6 on Fashion-MNIST: AGD's automatic learning rate and objective per step")
    fig.tight_layout()
    save(fig, out, "figure6_curves.png")
    return True


def test_by_step(epoch_rows, eval_rows):
    """(steps, test accuracy) of one run: its evaluations at fixed steps and after each epoch."""
    points = {int(r["step"]): r["test_acc"] for r in eval_rows}
    done = 0
    for r in epoch_rows:
        done += int(r["steps"])
        points[done] = r["test_acc"]
    steps = sorted(points)
    return np.array(steps, dtype=float), np.array([points[k] for k in steps])


def equal_steps(epochs, evals):
    """The largest evaluated step count that every run reached, and each run's test accuracy
    there: {run: accuracy} (None when the runs share no evaluated step)."""
    common = None
    for run in epochs:
        steps = set(int(k) for k in test_by_step(epochs[run], evals.get(run, []))[0])
        common = steps if common is None else common & steps
    if not common:
        return None, {}
    step = max(common)
    out = {}
    for run in epochs:
        x, acc = test_by_step(epochs[run], evals.get(run, []))
        out[run] = acc[list(x).index(step)]
    return step, out


def figure7(data, out):
    epochs = by_run(read_csv(os.path.join(data, "figure7_epochs.csv")))
    steps = by_run(read_csv(os.path.join(data, "figure7_steps.csv")))
    evals = by_run(read_csv(os.path.join(data, "figure7_evals.csv")))
    if not epochs:
        return False
    batches = sorted({run[4] for run in epochs})
    cmap = plt.get_cmap("viridis")
    colour = lambda run: cmap(batches.index(run[4]) / max(1, len(batches) - 1) * 0.9)
    name = lambda run: "batch %d" % run[4]
    lengths = sorted({len(rows) for rows in epochs.values()})
    budget = ("%d epochs each" % lengths[0] if len(lengths) == 1
              else "%d to %d epochs" % (lengths[0], lengths[-1]))
    fig, axes = plt.subplots(2, 3, figsize=(17, 8.4))
    for run, rows in steps.items():
        first = rows[:300]
        axes[0][0].plot(column(first, "step"), smooth(column(first, "eta"), 5), color=colour(run),
                        label=name(run), lw=0.9)
    axes[0][0].set_xlabel("step")
    axes[0][0].set_ylabel("eta (moving average over 5 steps)")
    axes[0][0].set_title("eta per step, the first 300 steps (the early dip)")
    for run, rows in epochs.items():
        e = column(rows, "epoch")
        axes[0][1].plot(e, column(rows, "eta_mean"), color=colour(run), label=name(run))
        axes[0][2].plot(e, column(rows, "train_loss"), color=colour(run), label=name(run))
        x, acc = test_by_step(rows, evals.get(run, []))
        axes[1][1].plot(x, 100 * acc, ".-", color=colour(run), label=name(run), ms=3)
        axes[1][2].plot(np.cumsum(column(rows, "steps")), column(rows, "train_loss"),
                        color=colour(run), label=name(run))
    for ax in (axes[0][1], axes[0][2], axes[1][0]):
        ax.set_xscale("log")
    axes[0][1].set_xlabel("epoch")
    axes[0][1].set_ylabel("eta (mean over the epoch)")
    axes[0][1].set_title("eta per epoch")
    axes[0][2].set_xlabel("epoch")
    axes[0][2].set_ylabel("train objective (epoch mean)")
    axes[0][2].set_yscale("log")
    axes[0][2].set_title("objective at equal epochs")
    accuracy_panel(axes[1][0], epochs, colour, name)
    axes[1][0].set_ylim(70, 100)
    axes[1][0].set_title("accuracy at equal epochs (solid: train, dotted: test)")
    axes[1][0].legend(fontsize=6, ncol=2)
    step, _ = equal_steps(epochs, evals)
    if step:
        axes[1][1].axvline(step, color="grey", ls="--", lw=0.8)
    axes[1][1].set_xscale("log")
    axes[1][1].set_ylim(50, 92)
    axes[1][1].set_xlabel("step")
    axes[1][1].set_ylabel("test accuracy (%)")
    axes[1][1].set_title("test accuracy at equal steps%s" % (
        " (dashed: %d, the last step all reach)" % step if step else ""))
    axes[1][2].set_xscale("log")
    axes[1][2].set_yscale("log")
    axes[1][2].set_xlabel("step")
    axes[1][2].set_ylabel("train objective (epoch mean)")
    axes[1][2].set_title("objective at equal steps")
    for ax in (axes[0][0], axes[0][1], axes[0][2], axes[1][1], axes[1][2]):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle("Figure 7 on Fashion-MNIST: AGD, depth-4 width-256 FCN, batch 32 to 4096, "
                 "%s" % budget)
    fig.tight_layout()
    save(fig, out, "figure7.png")
    return True


def phase_summary(epoch_rows):
    """The two phases of one run, from its per-epoch means. eta (smoothed over 3 epochs) first
    dips (its minimum in the first half of the run), then rises to a peak (its maximum after the
    dip) and falls; phase 1 runs from the dip to the peak, phase 2 from the peak to the end. For
    each: eta and the objective at its ends, and how fast the objective falls (its log per
    epoch); and where the train accuracy reaches 99% and 100%."""
    eta = column(epoch_rows, "eta_mean")
    loss = column(epoch_rows, "train_loss")
    train = column(epoch_rows, "train_acc")
    n = len(eta)
    smooth_eta = np.array([eta[max(0, i - 1):i + 2].mean() for i in range(n)])
    dip = int(np.argmin(smooth_eta[:max(1, (n + 1) // 2)]))
    peak = dip + int(np.argmax(smooth_eta[dip:]))

    def first_at(level):
        hits = np.nonzero(train >= level)[0]
        return int(hits[0]) + 1 if len(hits) else None

    def rate(a, b):  # the objective's fall from epoch a to b, in log units per epoch
        return math.log(loss[a] / loss[b]) / (b - a) if b > a else float("nan")

    return {"epochs": n, "dip_epoch": dip + 1, "peak_epoch": peak + 1, "eta_first": eta[0],
            "eta_dip": smooth_eta[dip], "eta_peak": smooth_eta[peak], "eta_last": smooth_eta[-1],
            "loss_first": loss[0], "loss_dip": loss[dip], "loss_peak": loss[peak],
            "loss_last": loss[-1], "rate_1": rate(dip, peak), "rate_2": rate(peak, n - 1),
            "train_at_peak": train[peak], "train_max": train.max(), "epoch_99": first_at(0.99),
            "epoch_100": first_at(1.0), "test_last": epoch_rows[-1]["test_acc"],
            "test_best": max(r["test_acc"] for r in epoch_rows)}


def phases_figure(data, out):
    epochs = by_run(read_csv(os.path.join(data, "phases_epochs.csv")))
    steps = by_run(read_csv(os.path.join(data, "phases_steps.csv")))
    if not epochs:
        return False
    runs = list(epochs)
    fig, axes = plt.subplots(3, len(runs), figsize=(4.2 * len(runs), 9.6), squeeze=False)
    for col, run in enumerate(runs):
        rows = epochs[run]
        per_epoch = rows[0]["steps"]
        summary = phase_summary(rows)
        if run in steps:
            x = column(steps[run], "step") / per_epoch
            window = max(1, int(per_epoch))
            eta, loss = column(steps[run], "eta"), column(steps[run], "loss")
            axes[0][col].plot(x, eta, color="tab:blue", alpha=0.15, lw=0.5)
            axes[0][col].plot(x, smooth(eta, window), color="tab:blue")
            axes[1][col].plot(x, loss, color="tab:red", alpha=0.15, lw=0.5)
            axes[1][col].plot(x, smooth(loss, window), color="tab:red")
        e = column(rows, "epoch")
        axes[2][col].plot(e, 100 * column(rows, "train_acc"), "-", color="k", label="train")
        axes[2][col].plot(e, 100 * column(rows, "test_acc"), ":", color="k", label="test")
        for row in range(3):
            axes[row][col].axvline(summary["peak_epoch"] - 0.5, color="grey", ls="--", lw=0.8)
            axes[row][col].axvline(summary["dip_epoch"] - 0.5, color="grey", ls="-.", lw=0.8)
            if summary["epoch_99"]:
                axes[row][col].axvline(summary["epoch_99"] - 0.5, color="tab:green", ls=":",
                                       lw=1.2)
            axes[row][col].grid(alpha=0.3, which="both")
        axes[0][col].set_title("depth %d, width %d" % (run[2], run[3]))
        axes[0][col].set_ylabel("eta (light: per step; dark: 1-epoch mean)")
        axes[1][col].set_ylabel("train objective (light: per step)")
        axes[1][col].set_yscale("log")
        axes[2][col].set_ylabel("accuracy (%)")
        axes[2][col].set_ylim(80, 100.5)
        axes[2][col].set_xlabel("epoch")
        axes[2][col].legend(fontsize=7)
    fig.suptitle("Figure 6's two phases on Fashion-MNIST: AGD, batch 128, %d steps per epoch, "
                 "until train accuracy stops rising\ndash-dotted: eta's early dip; dashed: its "
                 "peak (epoch means, smoothed over 3 epochs); dotted: train accuracy first "
                 ">= 99%%" % int(epochs[runs[0]][0]["steps"]), fontsize=10)
    fig.tight_layout()
    save(fig, out, "figure6_phases.png")
    return True


def eta_figure(data, out):
    epochs = by_run(read_csv(os.path.join(data, "eta_epochs.csv")))
    if not epochs:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for run, rows in epochs.items():
        e = column(rows, "epoch")
        c = COLOURS.get(run[0], "k")
        if run[0] == "agd":
            axes[0].plot(e, column(rows, "eta_mean"), "-", color=c, label="AGD eta, mean")
            axes[0].fill_between(e, column(rows, "eta_min"), column(rows, "eta_max"), color=c,
                                 alpha=0.25, label="min-max over the epoch")
            style = "-"
        else:
            style = "--"
        axes[1].plot(e, column(rows, "train_loss"), style, color=c, alpha=1 if style == "-" else 0.6,
                     label=label(run) + " train")
        axes[1].plot(e, column(rows, "test_loss"), ":", color=c, alpha=1 if style == "-" else 0.6,
                     label=label(run) + " test")
        axes[2].plot(e, 100 * column(rows, "train_acc"), style, color=c,
                     alpha=1 if style == "-" else 0.6, label=label(run) + " train")
        axes[2].plot(e, 100 * column(rows, "test_acc"), ":", color=c,
                     alpha=1 if style == "-" else 0.6, label=label(run) + " test")
    axes[0].set_ylabel("automatic learning rate eta")
    axes[0].set_title("eta per epoch (mean, min, max)")
    axes[1].set_ylabel("objective (MSE)")
    axes[1].set_yscale("log")
    axes[1].set_title("objective per epoch")
    axes[2].set_ylabel("accuracy (%)")
    axes[2].set_title("accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle("Figure 4 (top row, FCN panel) on Fashion-MNIST: depth-16 width-512 FCN, AGD "
                 "(Adam at the paper's tuned 1e-4 dashed)")
    fig.tight_layout()
    save(fig, out, "figure4_eta.png")
    return True


def pct(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.2f" % (100 * v)


def num(v, digits=4):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.*g" % (digits, v)


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def spread(values, fmt):
    """'mean [min, max]' of the values over seeds (just the value for one seed)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return "%s [%s, %s]" % (fmt(float(np.mean(values))), fmt(min(values)), fmt(max(values)))


def seeds_table(summary, keep=lambda config: True):
    """One row per configuration repeated over seeds: mean [min, max] of its final numbers."""
    configs = OrderedDict()
    for r in summary:
        config = tuple(r[k] for k in RUN_KEYS[:5])
        if keep(config):
            configs.setdefault(config, []).append(r)
    rows = []
    for config, runs in configs.items():
        if len(runs) < 2:
            continue
        get = lambda key: [r[key] for r in runs]
        rows.append([label(config), len(runs), ", ".join("%d" % r["seed"] for r in runs),
                     spread(get("final_train_loss"), lambda v: "%.4f" % v),
                     spread(get("final_train_acc"), pct), spread(get("final_test_acc"), pct),
                     spread(get("best_test_acc"), pct)])
    return md_table(["run", "seeds", "seed values", "train objective", "train acc %",
                     "test acc %", "best test acc %"], rows) if rows else None


def tables(data):
    """Markdown tables of the numbers behind each figure (for docs/results.md)."""
    out = []
    f1 = by_run(read_csv(os.path.join(data, "figure1_epochs.csv")))
    if f1:
        seed = min(run[5] for run in f1)
        runs = [run for run in f1 if run[5] == seed]
        header = ["epoch"] + ["%s %s" % (label(r), k) for r in runs for k in ("train", "test")]
        n = max(len(v) for v in f1.values())
        rows = []
        for i in range(n):
            row = [i + 1]
            for r in runs:
                e = f1[r][i] if i < len(f1[r]) else None
                row += [pct(e["train_acc"]) if e else "-", pct(e["test_acc"]) if e else "-"]
            rows.append(row)
        out.append("### Figure 1 (left): accuracy (%%) per epoch, seed %d\n\n" % seed
                   + md_table(header, rows))
        table = seeds_table(read_csv(os.path.join(data, "figure1_summary.csv")))
        if table:
            out.append("### Figure 1 (left): final numbers over seeds, mean [min, max]\n\n"
                       + table)
    for name, title in (("figure5", "Figure 5"), ("eta", "Figure 4 (top row)"),
                        ("figure7", "Figure 7")):
        summary = read_csv(os.path.join(data, name + "_summary.csv"))
        epochs = by_run(read_csv(os.path.join(data, name + "_epochs.csv")))
        steps = by_run(read_csv(os.path.join(data, name + "_steps.csv"))) if name == "figure7" \
            else {}
        if not summary:
            continue
        rows = []
        for s in summary:
            run = tuple(s[k] for k in RUN_KEYS)
            e = epochs.get(run, [])
            last = e[-1] if e else {}
            rows.append([label(run), int(s["batch"]), int(s["seed"]), s["status"],
                         int(s["epochs_done"]), num(s["final_train_loss"]),
                         pct(s["final_train_acc"]), pct(s["final_test_acc"]),
                         pct(s["best_test_acc"]),
                         num(last.get("eta_mean", float("nan")), 3) if run[0] == "agd" else "-",
                         num(last.get("upd_mean", float("nan")), 3)])
            if name == "figure7":
                # The early dip of eta: its first value and its minimum over the first 100 steps.
                eta = [r["eta"] for r in steps.get(run, [])]
                rows[-1] += [num(eta[0], 3) if eta else "-",
                             num(min(eta[:100]), 3) if eta else "-"]
                best = max(e, key=lambda r: r["test_acc"]) if e else None
                rows[-1] += [int(best["epoch"]) if best else "-"]
        header = ["run", "batch", "seed", "status", "epochs", "train objective", "train acc %",
                  "test acc %", "best test acc %", "eta (last epoch mean)",
                  "relative update (last epoch mean)"]
        if name == "figure7":
            header += ["eta at step 1", "eta min, steps 1-100", "epoch of best test acc"]
        out.append("### %s: final numbers per run\n\n" % title + md_table(header, rows))
        if name == "figure5":
            chosen = {"agd": 0.0, "adam": best_lr(summary, "adam"), "sgd": best_lr(summary, "sgd")}
            table = seeds_table(summary, lambda c: chosen.get(c[0]) == c[1])
            if table:
                out.append("### Figure 5: AGD and the best baselines over seeds, mean [min, max]"
                           "\n\n" + table)
        if name == "figure7" and epochs:
            # At equal epochs: the fewest that any run has (the large batches may run longer).
            common = min(len(e) for e in epochs.values())
            rows = [["batch %d" % run[4], common, num(e[common - 1]["train_loss"]),
                     pct(e[common - 1]["train_acc"]), pct(e[common - 1]["test_acc"]),
                     pct(max(r["test_acc"] for r in e[:common])),
                     int(sum(r["steps"] for r in e[:common]))] for run, e in epochs.items()]
            out.append("### Figure 7: at equal epochs (%d)\n\n" % common + md_table(
                ["run", "epoch", "train objective", "train acc %", "test acc %",
                 "best test acc % so far", "steps"], rows))
        if name == "figure7":
            evals = by_run(read_csv(os.path.join(data, "figure7_evals.csv")))
            step, _ = equal_steps(epochs, evals)
            curves = {run: dict(zip(*test_by_step(rows, evals.get(run, []))))
                      for run, rows in epochs.items()}
            marks = sorted({int(r["step"]) for rows in evals.values() for r in rows})
            if marks:
                rows = [["batch %d" % run[4]] + [pct(c[k]) if k in c else "-" for k in marks]
                        for run, c in curves.items()]
                out.append("### Figure 7: test accuracy (%%) at equal numbers of steps (the last "
                           "that every batch size reaches: %s)\n\n" % step
                           + md_table(["run"] + ["step %d" % k for k in marks], rows))
    eta_epochs = by_run(read_csv(os.path.join(data, "eta_epochs.csv")))
    for run, e in eta_epochs.items():
        if run[0] != "agd":
            continue
        rows = [[int(r["epoch"]), num(r["eta_min"], 3), num(r["eta_mean"], 3),
                 num(r["eta_max"], 3), num(r["train_loss"]), num(r["test_loss"]),
                 pct(r["train_acc"]), pct(r["test_acc"])] for r in e]
        out.append("### Figure 4 (top row): AGD per epoch\n\n" + md_table(
            ["epoch", "eta min", "eta mean", "eta max", "train objective", "test objective",
             "train acc %", "test acc %"], rows))
    summary = read_csv(os.path.join(data, "figure6_summary.csv"))
    if summary:
        depths = sorted({r["depth"] for r in summary})
        widths = sorted({r["width"] for r in summary})
        cell = {(r["depth"], r["width"]): r for r in summary}
        for key, title in (("final_test_acc", "test"), ("final_train_acc", "train")):
            rows = [["**%d**" % d] + [pct(cell[(d, w)][key]) if (d, w) in cell else "-"
                                      for w in widths] for d in depths]
            out.append("### Figure 6: final %s accuracy (%%), depth (rows) x width (columns)\n\n"
                       % title + md_table(["depth \\ width"] + ["%d" % w for w in widths], rows))
    phases = by_run(read_csv(os.path.join(data, "phases_epochs.csv")))
    if phases:
        status = {tuple(r[k] for k in RUN_KEYS): r["status"]
                  for r in read_csv(os.path.join(data, "phases_summary.csv"))}
        rows = []
        for run, e in phases.items():
            p = phase_summary(e)
            rows.append(["depth %d width %d" % (run[2], run[3]), status.get(run, "-"),
                         p["epochs"], "%.3f" % p["eta_first"],
                         "%.3f (%d)" % (p["eta_dip"], p["dip_epoch"]),
                         "%.3f (%d)" % (p["eta_peak"], p["peak_epoch"]), "%.3f" % p["eta_last"],
                         "%s / %s / %s" % (num(p["loss_dip"], 3), num(p["loss_peak"], 3),
                                           num(p["loss_last"], 3)),
                         "%.3f" % p["rate_1"], "%.3f" % p["rate_2"], pct(p["train_at_peak"]),
                         pct(p["train_max"]), p["epoch_99"] or "-", p["epoch_100"] or "-",
                         pct(p["test_last"]), pct(p["test_best"])])
        out.append("### Figure 6, two phases: per-epoch means (eta smoothed over 3 epochs)\n\n"
                   + md_table(["network", "status", "epochs", "eta epoch 1", "eta dip (epoch)",
                               "eta peak (epoch)", "eta last", "objective at dip / peak / last",
                               "objective's fall per epoch, phase 1 (log)",
                               "objective's fall per epoch, phase 2 (log)",
                               "train acc at eta's peak %", "train acc max %",
                               "first epoch >= 99% train", "first epoch 100% train",
                               "test acc last %", "test acc best %"], rows))
    print("\n\n".join(out))


PLOTS = OrderedDict([("figure1", figure1), ("figure5", figure5), ("figure6", figure6),
                     ("phases", phases_figure), ("figure7", figure7), ("eta", eta_figure)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="directory with the experiments' CSV files")
    parser.add_argument("--out", help="directory for the PNG files (created)")
    parser.add_argument("--tables", action="store_true",
                        help="print the numbers as Markdown tables instead of plotting")
    parser.add_argument("--only", nargs="*", choices=list(PLOTS), help="plot only these figures")
    args = parser.parse_args()
    if args.tables:
        tables(args.data)
        return
    if not args.out:
        parser.error("--out is required to plot")
    os.makedirs(args.out, exist_ok=True)
    wanted = args.only or list(PLOTS)
    missing = [name for name in wanted if not PLOTS[name](args.data, args.out)]
    if missing:
        sys.exit("plot_figures.py: no CSV in %s for %s; run the experiments first"
                 % (args.data, ", ".join(missing)))


if __name__ == "__main__":
    main()
