#!/usr/bin/env python3
"""Runs the benchmarks of bench/run_benchmarks.sh once the programs are built, and writes the
tables (printed, and as CSV) and the step-time plot.

  /usr/bin/python3 bench/benchmarks.py --build build-bench --out DIR [--quick] [--threads N]
                                       [--rounds R] [--figure PNG] [--compile-times]

1. Step-time sweep: for every shape (depth, width, batch) of the paper's FCN, alternately, the
   agd step (build/bench/bench_sweep) and the paper's AGD in PyTorch (bench/pytorch_agd.py
   --mode time, OMP_WAIT_POLICY=PASSIVE), R rounds; the median over rounds of each run's median
   step time, GFLOP/s, and the ratio PyTorch / agd, and the least of the rounds' medians (the
   round least disturbed by other work on the machine). -> sweep.csv, sweep_runs.csv
2. The GEMM roof: a 2048^3 single-precision Eigen GEMM split over agd's thread pool, best of 10,
   once per round; the best is the roof. -> in sweep.csv's header comment and the plot
3. Optimiser state: bench_memory (types and heap). -> memory.csv
4. Peak RSS of a training run: fashion_mnist --max-steps N with AGD, Adam and SGD-momentum, and
   pytorch_agd.py --mode train --max-steps N (AGD), and `import torch` alone, each a child
   process whose VmHWM (peak resident set) is read every 10 ms. -> rss.csv
5. With --compile-times: bench/compile_times.sh (compile time and binary size of each program).
   -> compile_times.csv
6. The plot: step time and GFLOP/s against parameter count and batch, with the roof. -> --figure
--summarise DIR... pools the runs of earlier invocations (rounds taken at different times of a
shared machine) into one sweep.csv and plot without running anything.
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # Debian's, with python3-torch; not a pyenv python on PATH


def shapes(quick):
    if quick:
        return [(4, 64, 128), (4, 512, 128), (2, 512, 128), (4, 512, 32)]
    out = []
    for w in (64, 128, 256, 512, 1024, 2048):
        out.append((4, w, 128))
    for d in (2, 4, 8, 16, 32):
        out.append((d, 512, 128))
    for b in (32, 128, 512, 1024, 4096):
        out.append((4, 512, b))
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def sweeps_of(shape, quick):
    """Which sweeps (width, depth, batch) a shape belongs to."""
    d, w, b = shape
    names = []
    if d == 4 and b == 128:
        names.append("width")
    if w == 512 and b == 128:
        names.append("depth")
    if d == 4 and w == 512:
        names.append("batch")
    return "+".join(names)


def parameters(d, w):
    """P of agd::FCN<784, w, 10, d>."""
    return 784 * w + (d - 2) * w * w + w * 10


def step_flops(d, w, b):
    """As bench/sweep.hpp: forward, weight gradients, input gradients but the first layer's."""
    p = parameters(d, w)
    return 2.0 * b * (3 * p - 784 * w)


def fields(line):
    return dict(re.findall(r"(\w+)=([^\s]+)", line))


def run(cmd, env=None):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"benchmarks.py: {' '.join(cmd)} failed with status {res.returncode}")
    return res.stdout


def timed_child(cmd):
    """Runs cmd, reading its /proc/PID/status every 10 ms; returns (peak RSS = the last VmHWM
    read, wall seconds)."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            if "VmHWM" in status:  # absent once the process is a zombie
                peak = int(status["VmHWM"].split()[0]) * 1024
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    err = child.stderr.read()
    if child.returncode != 0:
        sys.stderr.write(err)
        raise SystemExit(f"benchmarks.py: {' '.join(cmd)} failed with status {child.returncode}")
    return peak, time.perf_counter() - start


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def table(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(str(c).rjust(wd) for c, wd in zip(cells, widths))
    print(line(header))
    for r in rows:
        print(line(r))


def sweep(args, build):
    bench = os.path.join(build, "bench", "bench_sweep")
    max_seconds = "0.2" if args.quick else str(args.max_seconds)
    warmup = "2" if args.quick else "5"
    min_steps = "5" if args.quick else "10"
    runs = []  # (round, depth, width, batch, impl, median_ms, min_ms, steps, load1)
    roofs = []
    for r in range(1, args.rounds + 1):
        out = run([bench, "--threads", str(args.threads), "--roof"])
        roof = float(fields([l for l in out.splitlines() if l.startswith("gemm_roof")][0])["gflops"])
        roofs.append((time.strftime("%H:%M:%S"), roof, os.getloadavg()[0]))
        print(f"round {r}/{args.rounds}: GEMM roof {roof:.1f} GFLOP/s, load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        for d, w, b in shapes(args.quick):
            out = run([bench, "--threads", str(args.threads), "--shapes", f"{d}:{w}:{b}",
                       "--warmup", warmup, "--min-steps", min_steps, "--max-steps", "300",
                       "--max-seconds", max_seconds])
            a = fields([l for l in out.splitlines() if l.startswith("agd_shape")][0])
            if abs(float(a["flops"]) - step_flops(d, w, b)) > 0.5:
                raise SystemExit("benchmarks.py: FLOP counts of bench_sweep and this script differ")
            runs.append((r, d, w, b, "agd", float(a["median_ms"]), float(a["min_ms"]),
                         int(a["steps"]), round(os.getloadavg()[0], 2)))
            out = run([PYTHON, os.path.join(HERE, "pytorch_agd.py"), "--mode", "time",
                       "--threads", str(args.threads), "--depth", str(d), "--width", str(w),
                       "--batch", str(b), "--warmup", warmup, "--min-steps", min_steps,
                       "--steps", "300", "--max-seconds", max_seconds,
                       "--omp-wait-policy", "passive", "--data", args.data])
            t = fields([l for l in out.splitlines() if l.startswith("pytorch_step_ms")][0])
            runs.append((r, d, w, b, "pytorch", float(t["median"]), float(t["min"]),
                         int(t["steps"]), round(os.getloadavg()[0], 2)))
            print(f"  depth {d:>2} width {w:>4} batch {b:>4}: agd {runs[-2][5]:8.3f} ms, "
                  f"PyTorch {runs[-1][5]:8.3f} ms", flush=True)
    write_csv(os.path.join(args.out, "sweep_runs.csv"), RUNS_HEADER, runs)
    write_csv(os.path.join(args.out, "roof.csv"), ["time", "gemm_gflops", "load1"], roofs)
    return summarise(args, runs, [x[1] for x in roofs])


RUNS_HEADER = ["round", "depth", "width", "batch", "impl", "median_ms", "min_ms", "steps", "load1"]
SWEEP_HEADER = ["sweep", "depth", "width", "batch", "params", "mflop", "agd_ms", "pytorch_ms",
                "ratio", "agd_gflops", "pytorch_gflops", "agd_pct_roof", "roof_ms",
                "agd_best_ms", "pytorch_best_ms", "ratio_best", "rounds"]


def summarise(args, runs, roofs):
    """sweep.csv from the runs: per shape, the median over rounds of each run's median step time
    (agd_ms, pytorch_ms, ratio = PyTorch / agd, GFLOP/s from those) and the least of them
    (*_best_ms, ratio_best: the round least disturbed by other load); the roof is the best
    GEMM rate measured."""
    roof = max(roofs)
    shape_list = []
    for x in runs:
        if tuple(x[1:4]) not in shape_list:
            shape_list.append(tuple(x[1:4]))
    rows = []
    for d, w, b in shape_list:
        of = lambda impl: [x[5] for x in runs if tuple(x[1:4]) == (d, w, b) and x[4] == impl]
        agd_ms, torch_ms = statistics.median(of("agd")), statistics.median(of("pytorch"))
        agd_best, torch_best = min(of("agd")), min(of("pytorch"))
        flops = step_flops(d, w, b)
        agd_gf, torch_gf = flops / agd_ms / 1e6, flops / torch_ms / 1e6
        rows.append((sweeps_of((d, w, b), args.quick), d, w, b, parameters(d, w),
                     f"{flops / 1e6:.1f}", f"{agd_ms:.3f}", f"{torch_ms:.3f}",
                     f"{torch_ms / agd_ms:.2f}", f"{agd_gf:.1f}", f"{torch_gf:.1f}",
                     f"{100 * agd_gf / roof:.0f}", f"{flops / roof / 1e6:.3f}",
                     f"{agd_best:.3f}", f"{torch_best:.3f}", f"{torch_best / agd_best:.2f}",
                     len(of("agd"))))
    write_csv(os.path.join(args.out, "sweep.csv"), SWEEP_HEADER, rows)
    print(f"\nStep time: median over rounds of each run's median (and the least of them, "
          f"'best'), {args.threads} threads; ratio = PyTorch / agd; GEMM roof {roof:.1f} GFLOP/s "
          f"(best of: {', '.join(f'{x:.0f}' for x in roofs)})")
    table(SWEEP_HEADER, rows)
    return rows, roof


def read_runs(paths):
    runs, roofs = [], []
    for path in paths:
        with open(os.path.join(path, "sweep_runs.csv")) as f:
            table_rows = list(csv.reader(f))
            pooled = table_rows[0][0] == "run"  # an earlier --summarise's pooled file
            for r in table_rows[1:]:
                r = r[1:] if pooled else r
                runs.append((r[0], int(r[1]), int(r[2]), int(r[3]), r[4], float(r[5]),
                             float(r[6]), int(r[7]), r[8] if len(r) > 8 else ""))
        with open(os.path.join(path, "roof.csv")) as f:
            table_rows = list(csv.reader(f))
            column = table_rows[0].index("gemm_gflops")
            roofs += [float(r[column]) for r in table_rows[1:]]
    return runs, roofs


def memory(args, build):
    out = run([os.path.join(build, "bench", "bench_memory")])
    rows, buffers = [], {}
    for line in out.splitlines():
        f = fields(line)
        if line.startswith("buffers"):
            buffers[f["net"]] = f
        elif line.startswith("memory"):
            rows.append((f["net"], f["params"], f["optimizer"], f["state_bytes"],
                         f["heap_bytes"], f["rss_bytes"],
                         f"{int(f['state_bytes']) / int(f['params']) / 4:.2f}"))
    header = ["net", "params", "optimizer", "state_bytes_from_type", "heap_bytes_measured",
              "rss_growth_bytes", "floats_per_weight"]
    write_csv(os.path.join(args.out, "memory.csv"), header, rows)
    print("\nOptimiser state (bench_memory)")
    table(header, rows)
    return rows


def rss(args, build):
    steps = "20" if args.quick else str(args.rss_steps)
    example = os.path.join(build, "examples", "fashion_mnist")
    runs = [
        ("agd", "AGD", [example, "--epochs", "1", "--max-steps", steps, "--threads",
                        str(args.threads), "--data", args.data]),
        ("agd", "Adam", [example, "--epochs", "1", "--max-steps", steps, "--threads",
                         str(args.threads), "--optimizer", "adam", "--lr", "0.001",
                         "--data", args.data]),
        ("agd", "SGD momentum 0.9", [example, "--epochs", "1", "--max-steps", steps, "--threads",
                                     str(args.threads), "--optimizer", "sgd", "--lr", "0.1",
                                     "--momentum", "0.9", "--data", args.data]),
        ("pytorch", "AGD", [PYTHON, os.path.join(HERE, "pytorch_agd.py"), "--mode", "train",
                            "--epochs", "1", "--max-steps", steps, "--threads", str(args.threads),
                            "--data", args.data]),
        ("pytorch", "import torch + numpy only",
         [PYTHON, "-c", "import torch, numpy"]),
    ]
    rows = []
    for impl, optimizer, cmd in runs:
        peak, seconds = timed_child(cmd)
        rows.append((impl, optimizer, steps if "--max-steps" in cmd else "-",
                     f"{peak / 2**20:.1f}", f"{seconds:.1f}"))
    header = ["impl", "optimizer", "steps", "peak_rss_mib", "wall_s"]
    write_csv(os.path.join(args.out, "rss.csv"), header, rows)
    print(f"\nPeak RSS, Fashion-MNIST depth 4 width 512 batch 128, {steps} steps (1 epoch "
          f"capped), {args.threads} threads, training and test sets loaded")
    table(header, rows)
    return rows


def compile_times(args):
    out = run(["bash", os.path.join(HERE, "compile_times.sh"), os.path.join(ROOT, "build-compile-times")])
    rows = []
    for line in out.splitlines():
        f = fields(line)
        if "target" in f:
            rows.append((f["target"], f.get("seconds", "failed"), f.get("bytes", ""),
                         f.get("stripped_bytes", "")))
    header = ["target", "seconds", "bytes", "stripped_bytes"]
    write_csv(os.path.join(args.out, "compile_times.csv"), header, rows)
    print("\nCompile time (alone, -j2, fresh tree) and binary size")
    table(header, rows)


def plot(args, rows, roof):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("benchmarks.py: no matplotlib (apt-get install python3-matplotlib): no plot",
              file=sys.stderr)
        return
    fig, (left, right, third) = plt.subplots(1, 3, figsize=(16, 4.8),
                                             gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
    for sweep_name, marker in (("width", "o"), ("depth", "s")):
        pts = sorted((int(r[4]), float(r[6]), float(r[7]), float(r[12]), float(r[9]),
                      float(r[10]), r) for r in rows if sweep_name in r[0].split("+"))
        if not pts:
            continue
        p = [x[0] for x in pts]
        label = "depth 4, width 64..2048" if sweep_name == "width" else "width 512, depth 2..32"
        left.plot(p, [x[1] for x in pts], marker + "-", color="C0", label=f"agd, {label}")
        left.plot(p, [x[2] for x in pts], marker + "--", color="C3",
                  label=f"PyTorch (paper's AGD), {label}")
        left.plot(p, [x[3] for x in pts], marker + ":", color="0.4", mfc="none",
                  label=f"GEMM roof (FLOPs / {roof:.0f} GFLOP/s), {label}")
        right.plot(p, [x[4] for x in pts], marker + "-", color="C0", label=f"agd, {label}")
        right.plot(p, [x[5] for x in pts], marker + "--", color="C3",
                   label=f"PyTorch, {label}")
    right.axhline(roof, color="0.4", ls=":", label=f"GEMM roof {roof:.0f} GFLOP/s")
    pts = sorted((int(r[3]), float(r[9]), float(r[10])) for r in rows
                 if "batch" in r[0].split("+"))
    if pts:
        third.plot([x[0] for x in pts], [x[1] for x in pts], "^-", color="C0", label="agd")
        third.plot([x[0] for x in pts], [x[2] for x in pts], "^--", color="C3", label="PyTorch")
    third.axhline(roof, color="0.4", ls=":", label=f"GEMM roof {roof:.0f} GFLOP/s")
    third.set_xscale("log", base=2)
    third.set_xlabel("batch (depth 4, width 512)")
    third.set_ylabel("GFLOP/s")
    third.set_ylim(0, roof * 1.15)
    third.grid(True, which="both", alpha=0.3)
    third.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.grid(True, which="both", alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("training step, median (ms)")
    right.set_ylabel("GFLOP/s (step FLOPs / median time)")
    right.set_ylim(0, roof * 1.15)
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"AGD training step (forward, MSE, backward, update), median, {args.threads} "
                 f"threads: agd vs the paper's AGD in PyTorch 1.13 ({args.machine}); "
                 f"left and middle: batch 128{args.note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    print(f"\nwrote {args.figure}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--max-seconds", type=float, default=1.5)
    p.add_argument("--rss-steps", type=int, default=200)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--figure", default=None)
    p.add_argument("--machine", default="2-core Xeon")
    p.add_argument("--compile-times", action="store_true")
    p.add_argument("--note", default="", help="text appended to the plot's title")
    p.add_argument("--summarise", nargs="+", metavar="DIR", default=None,
                   help="run nothing: pool the sweep_runs.csv and roof.csv of these directories "
                        "(earlier runs' --out), write sweep.csv to --out and redraw --figure")
    p.add_argument("--only", choices=["sweep", "memory", "rss", "compile"], default=None)
    args = p.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    os.makedirs(args.out, exist_ok=True)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.summarise:
        runs, roofs = read_runs(args.summarise)
        rows, roof = summarise(args, runs, roofs)
        if args.figure:
            plot(args, rows, roof)
        return
    if args.only in (None, "sweep"):
        rows, roof = sweep(args, args.build)
        if args.figure:
            plot(args, rows, roof)
    if args.only in (None, "memory"):
        memory(args, args.build)
    if args.only in (None, "rss"):
        rss(args, args.build)
    if args.only == "compile" or (args.only is None and args.compile_times):
        compile_times(args)
    print(f"# done {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; CSV in {args.out}")


if __name__ == "__main__":
    main()
