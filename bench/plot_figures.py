#!/usr/bin/python3
"""Plots the CSV files of build/examples/experiments as the paper's figures (PNG).

    /usr/bin/python3 bench/plot_figures.py --data DIR --out docs/figures [--only figure1 ...]
    /usr/bin/python3 bench/plot_figures.py --data DIR --tables   # the numbers, as Markdown

Reads <figure>_epochs.csv, <figure>_steps.csv and <figure>_summary.csv from DIR and writes
figure1.png, figure5.png, figure6_heatmap.png, figure6_curves.png, figure7.png and
figure4_eta.png to --out. Needs only matplotlib and numpy (Debian python3-matplotlib).
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

RUN_KEYS = ("method", "lr", "depth", "width", "batch")
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


def accuracy_panel(ax, runs, colour_of, label_of):
    for run, rows in runs.items():
        e = column(rows, "epoch")
        c = colour_of(run)
        ax.plot(e, 100 * column(rows, "train_acc"), "-", color=c, label=label_of(run) + " train")
        ax.plot(e, 100 * column(rows, "test_acc"), ":", color=c, label=label_of(run) + " test")
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
    for run, rows in epochs.items():
        axes[1].plot(column(rows, "epoch"), column(rows, "train_loss"), "-", color=colour(run),
                     label=label(run))
    axes[1].set_yscale("log")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("train objective (MSE)")
    axes[1].set_title("objective")
    axes[1].grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=8)
    fig.suptitle("Figure 1 (left) on Fashion-MNIST: 32-layer width-256 FCN, defaults "
                 "(Adam 1e-3, SGD 0.1) vs AGD")
    fig.tight_layout()
    save(fig, out, "figure1.png")
    return True


def best_lr(summary, method):
    """The grid point with the best final test accuracy among the runs that did not diverge."""
    candidates = [r for r in summary if r["method"] == method and r["status"] == "ok"
                  and not math.isnan(r["final_test_acc"])]
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
    for run, rows in shown.items():
        axes[0].plot(column(rows, "epoch"), column(rows, "train_loss"), "-", color=colour(run),
                     label=tuned(run) + " train")
        axes[0].plot(column(rows, "epoch"), column(rows, "test_loss"), ":", color=colour(run),
                     label=tuned(run) + " test")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("objective (MSE)")
    axes[0].set_title("objective")
    axes[0].grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    accuracy_panel(axes[1], shown, colour, tuned)
    axes[1].set_title("accuracy (solid: train, dotted: test)")
    axes[1].legend(fontsize=7)
    for run, rows in shown.items():
        e = column(rows, "epoch")
        axes[2].plot(e, column(rows, "upd_mean"), "-", color=colour(run), label=tuned(run))
        axes[2].fill_between(e, column(rows, "upd_min"), column(rows, "upd_max"),
                             color=colour(run), alpha=0.2)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("(1/L) sum_k |dW_k|_F / |W_k|_F")
    axes[2].set_title("relative update size (mean, band: min-max per epoch)")
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend(fontsize=7)
    for method in ("adam", "sgd"):
        rows = sorted([r for r in summary if r["method"] == method], key=lambda r: r["lr"])
        if not rows:
            continue
        lrs = [r["lr"] for r in rows]
        acc = [0.0 if r["status"] != "ok" or math.isnan(r["final_test_acc"])
               else 100 * r["final_test_acc"] for r in rows]
        axes[3].plot(lrs, acc, "o-", color=COLOURS[method], label=label((method, 0))[:4].strip())
        for r, a in zip(rows, acc):
            if r["status"] != "ok":
                axes[3].annotate("diverged", (r["lr"], a), fontsize=7, rotation=90)
    agd_rows = [r for r in summary if r["method"] == "agd"]
    if agd_rows:
        axes[3].axhline(100 * agd_rows[0]["final_test_acc"], color=COLOURS["agd"],
                        label="AGD (no learning rate)")
    axes[3].set_xscale("log")
    axes[3].set_xlabel("learning rate")
    axes[3].set_ylabel("final test accuracy (%)")
    axes[3].set_ylim(0, 100)
    axes[3].set_title("learning-rate grid")
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


def figure7(data, out):
    epochs = by_run(read_csv(os.path.join(data, "figure7_epochs.csv")))
    steps = by_run(read_csv(os.path.join(data, "figure7_steps.csv")))
    if not epochs:
        return False
    batches = sorted({run[4] for run in epochs})
    cmap = plt.get_cmap("viridis")
    colour = lambda run: cmap(batches.index(run[4]) / max(1, len(batches) - 1) * 0.9)
    name = lambda run: "batch %d" % run[4]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    for run, rows in steps.items():
        x = step_epochs(rows, epochs.get(run, []))
        window = max(1, int(epochs[run][0]["steps"] // 20)) if run in epochs else 1
        axes[0].plot(x, smooth(column(rows, "eta"), window), color=colour(run), label=name(run))
        axes[1].plot(x, smooth(column(rows, "loss"), window), color=colour(run), label=name(run))
    axes[0].set_ylabel("eta (moving average over 1/20 epoch)")
    axes[1].set_ylabel("train objective (moving average)")
    axes[1].set_yscale("log")
    for ax in axes[:2]:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    accuracy_panel(axes[2], epochs, colour, name)
    axes[2].set_ylim(50, 100)
    axes[2].legend(fontsize=6, ncol=2)
    axes[2].set_title("accuracy (solid: train, dotted: test)")
    fig.suptitle("Figure 7 on Fashion-MNIST: AGD, depth-4 width-256 FCN, batch 32 to 4096")
    fig.tight_layout()
    save(fig, out, "figure7.png")
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


def tables(data):
    """Markdown tables of the numbers behind each figure (for docs/results.md)."""
    out = []
    f1 = by_run(read_csv(os.path.join(data, "figure1_epochs.csv")))
    if f1:
        runs = list(f1)
        header = ["epoch"] + ["%s %s" % (label(r), k) for r in runs for k in ("train", "test")]
        n = max(len(v) for v in f1.values())
        rows = []
        for i in range(n):
            row = [i + 1]
            for r in runs:
                e = f1[r][i] if i < len(f1[r]) else None
                row += [pct(e["train_acc"]) if e else "-", pct(e["test_acc"]) if e else "-"]
            rows.append(row)
        out.append("### Figure 1 (left): accuracy (%) per epoch\n\n" + md_table(header, rows))
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
            rows.append([label(run), int(s["batch"]), s["status"], int(s["epochs_done"]),
                         num(s["final_train_loss"]), pct(s["final_train_acc"]),
                         pct(s["final_test_acc"]), pct(s["best_test_acc"]),
                         num(last.get("eta_mean", float("nan")), 3) if run[0] == "agd" else "-",
                         num(last.get("upd_mean", float("nan")), 3)])
            if name == "figure7":
                # The early dip of eta: its first value and its minimum over the first 100 steps.
                eta = [r["eta"] for r in steps.get(run, [])]
                rows[-1] += [num(eta[0], 3) if eta else "-",
                             num(min(eta[:100]), 3) if eta else "-"]
        header = ["run", "batch", "status", "epochs", "train objective", "train acc %",
                  "test acc %", "best test acc %", "eta (last epoch mean)",
                  "relative update (last epoch mean)"]
        if name == "figure7":
            header += ["eta at step 1", "eta min, steps 1-100"]
        out.append("### %s: final numbers per run\n\n" % title + md_table(header, rows))
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
    print("\n\n".join(out))


PLOTS = OrderedDict([("figure1", figure1), ("figure5", figure5), ("figure6", figure6),
                     ("figure7", figure7), ("eta", eta_figure)])


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
