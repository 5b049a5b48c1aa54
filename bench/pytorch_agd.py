#!/usr/bin/env python3
"""PyTorch reference for Automatic Gradient Descent (AGD).

Reference implementation of AGD (Bernstein et al. 2023, "Automatic Gradient
Descent: Deep Learning without Hyperparameters", Appendix B / github.com/jxbz/agd)
on a bias-free fully-connected network trained on Fashion-MNIST.  It is the
baseline that the C++ implementation is compared against, both for speed
(--mode time) and for training behaviour (--mode train).

Faithful to the official code:
  * FCN without biases: Linear(784,w), (depth-2) x Linear(w,w), Linear(w,10);
    every layer except the last is followed by relu(x)*sqrt(2)
    (--plain-relu: relu(x) without the sqrt(2)).
  * Inputs: pixels/255, then (x-mean)/std with the mean and std over all
    pixels of the training set, flattened to 784.
  * Loss: mse (default) = mean over batch and classes of
    (output - sqrt(10)*onehot)^2;  xent = F.cross_entropy.
  * --precision bf16: the forward pass and the loss run under
    torch.autocast("cpu", dtype=torch.bfloat16) (bf16 matmuls/convolutions);
    the backward is outside it, and the weights, their gradients, the norms
    and the AGD step stay float32, as autocast leaves them.
  * AGD init: every weight is made (semi-)orthogonal and scaled by
    sqrt(fan_out/fan_in).  AGD step:
        G   = (1/L) sum_l sqrt(out_l/in_l) * ||grad W_l||_F
        eta = log((1 + sqrt(1 + 4G)) / 2)
        W_l -= gain * eta/L * nan_to_num(sqrt(out_l/in_l) / ||grad W_l||_F) * grad W_l
    where L is the number of weight tensors (= depth); nan_to_num as in the
    official code (AGD.step explains what it does for a zero gradient).

Modes:
  time   time the full training step (zero_grad + forward + loss + backward +
         AGD step) on real shuffled Fashion-MNIST batches; prints one line
         'pytorch_step_ms median=.. mean=.. min=.. threads=.. depth=.. width=.. batch=..
         steps=.. precision=..'
  train  train for --epochs epochs (shuffled, drop_last=False like
         DataLoader(shuffle=True)) and report per-epoch train loss, train
         accuracy, test accuracy and mean eta (optionally to --csv).
"""

import argparse
import contextlib
import gzip
import json
import math
import os
import re
import statistics
import sys
import time

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
DATA_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CSV_HEADER = "epoch,train_loss,train_acc,test_acc,mean_eta,step_ms"
PRECISIONS = ("fp32", "bf16")


def die(msg):
    print(f"pytorch_agd.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="pytorch_agd.py",
        description="PyTorch reference for Automatic Gradient Descent (AGD, "
                    "Bernstein et al. 2023) on a bias-free FCN and Fashion-MNIST.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  # time training steps (machine-readable line 'pytorch_step_ms median=...')
  python3 bench/pytorch_agd.py --mode time --threads 2
  python3 bench/pytorch_agd.py --mode time --threads 1 --json /tmp/t1.json
  python3 bench/pytorch_agd.py --mode time --threads 2 --precision bf16
  # train (paper setting: depth 4, width 512, batch 128, mse loss)
  python3 bench/pytorch_agd.py --mode train --epochs 3 --csv /tmp/agd.csv
  python3 bench/pytorch_agd.py --mode train --epochs 1 --depth 32 --width 256 --plain-relu

notes:
  --threads sets torch.set_num_threads(T) and also the OpenBLAS thread count
  (OPENBLAS_NUM_THREADS / openblas_set_num_threads), since Debian's torch does
  its GEMMs through the system BLAS whose pool torch does not control.
  Because torch's OpenMP threads and OpenBLAS's pthreads share the cores,
  OMP_WAIT_POLICY defaults to PASSIVE: with libgomp's default spinning the
  idle OpenMP threads steal the cores from OpenBLAS and multi-threaded steps
  become slow and erratic. Use --omp-wait-policy unset to measure torch as
  installed (libgomp's default spinning), or active to force spinning.
  Data files read from --data: """ + ", ".join(DATA_FILES.values()) + """.
  CSV header (--csv): """ + CSV_HEADER + """
  train_loss / train_acc are means over the epoch's minibatches (as in the
  official code); test_acc is correct/total over the whole test set.""")
    p.add_argument("--mode", choices=["time", "train"], default="time",
                   help="'time': benchmark training steps (default); "
                        "'train': train and report accuracies per epoch")
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help="directory holding the Fashion-MNIST IDX .gz files "
                        f"(default: {DEFAULT_DATA})")
    p.add_argument("--depth", type=positive_int, default=4,
                   help="number of linear layers (>= 2; default: 4)")
    p.add_argument("--width", type=positive_int, default=512,
                   help="hidden width (default: 512)")
    p.add_argument("--batch", type=positive_int, default=128,
                   help="minibatch size (default: 128)")
    p.add_argument("--loss", choices=["mse", "xent"], default="mse",
                   help="mse: mean((out - sqrt(10)*onehot)^2) over batch and "
                        "classes, as in the official code (default); "
                        "xent: F.cross_entropy")
    p.add_argument("--plain-relu", action="store_true",
                   help="use relu(x) instead of relu(x)*sqrt(2) after hidden layers")
    p.add_argument("--gain", type=float, default=1.0,
                   help="AGD gain (default: 1.0)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp32 (default) or bf16: forward pass and loss under "
                        "torch.autocast('cpu', dtype=torch.bfloat16); weights, "
                        "gradients and the AGD step stay float32")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed for the initialisation and the shuffling "
                        "(default: 0)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="T",
                   help="intra-op threads for torch and OpenBLAS "
                        "(default: all CPUs available to the process)")
    p.add_argument("--omp-wait-policy", choices=["passive", "active", "unset"], default=None,
                   help="OMP_WAIT_POLICY for torch's OpenMP pool; unset: leave it out of "
                        "the environment, as torch runs when installed (default: the "
                        "environment's value, else passive; see notes)")
    g = p.add_argument_group("--mode time")
    g.add_argument("--steps", type=positive_int, default=200,
                   help="number of timed steps (default: 200)")
    g.add_argument("--warmup", type=nonneg_int, default=20,
                   help="untimed warm-up steps before timing (default: 20)")
    g.add_argument("--max-seconds", type=float, default=None, metavar="S",
                   help="stop timing once the timed steps have taken S seconds in all "
                        "(after at least --min-steps; default: time all --steps)")
    g.add_argument("--min-steps", type=positive_int, default=10,
                   help="timed steps at least, with --max-seconds (default: 10)")
    g.add_argument("--json", metavar="FILE", default=None,
                   help="also write the timing results as JSON to FILE")
    g = p.add_argument_group("--mode train")
    g.add_argument("--epochs", type=positive_int, default=1,
                   help="number of epochs (default: 1)")
    g.add_argument("--max-steps", type=nonneg_int, default=0,
                   help="stop each epoch after this many steps (0: no limit), like "
                        "fashion_mnist --max-steps")
    g.add_argument("--csv", metavar="FILE", default=None,
                   help=f"write per-epoch results as CSV ({CSV_HEADER})")
    args = p.parse_args(argv)
    if args.depth < 2:
        p.error("--depth must be at least 2")
    if args.omp_wait_policy is None:
        args.omp_wait_policy = os.environ.get("OMP_WAIT_POLICY") or "passive"
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            args.threads = os.cpu_count() or 1
    return args


# --------------------------------------------------------------------------
# Runtime setup (torch is imported only after the arguments are parsed so that
# --help works anywhere and the BLAS thread count is set before BLAS loads)
# --------------------------------------------------------------------------

def import_torch(threads, omp_wait_policy):
    # Must be in the environment before torch (libgomp, OpenBLAS) is loaded.
    if omp_wait_policy == "unset":
        os.environ.pop("OMP_WAIT_POLICY", None)
    elif omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = omp_wait_policy.upper()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        # `python3` may be a pyenv/venv interpreter without the Debian
        # python3-torch package; retry once with the system interpreter.
        system_py = "/usr/bin/python3"
        if (os.environ.get("PYTORCH_AGD_REEXEC") != "1"
                and os.path.exists(system_py)
                and os.path.realpath(sys.executable) != os.path.realpath(system_py)):
            print(f"pytorch_agd.py: note: {exc}; re-running with {system_py}",
                  file=sys.stderr)
            os.environ["PYTORCH_AGD_REEXEC"] = "1"
            sys.stdout.flush()
            os.execv(system_py, [system_py, os.path.abspath(__file__)] + sys.argv[1:])
        die(f"cannot import torch/numpy ({exc}); install python3-torch and "
            "python3-numpy or run with an interpreter that has them")


def set_blas_threads(threads):
    """Set the OpenBLAS pool size at runtime as well; returns a description."""
    import ctypes
    for name in ("libopenblas.so.0", "libopenblasp-r0.3.21.so", "libopenblas.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.openblas_set_num_threads(ctypes.c_int(threads))
            lib.openblas_get_num_threads.restype = ctypes.c_int
            n = lib.openblas_get_num_threads()
            desc = f"OpenBLAS threads={n}"
            try:
                lib.openblas_get_config.restype = ctypes.c_char_p
                desc += f" ({lib.openblas_get_config().decode().strip()})"
            except AttributeError:
                pass
            return desc
        except AttributeError:
            continue
    return "OpenBLAS not found"


def blas_summary(torch):
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    blas = m.group(1) if m else "?"
    mkl = torch.backends.mkl.is_available()
    return f"BLAS_INFO={blas} mkl={'yes' if mkl else 'no'}"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(path, expect_magic, expect_ndim):
    import numpy as np
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        die(f"cannot read {path}: {exc}")
    if len(raw) < 4 + 4 * expect_ndim:
        die(f"{path}: file too short for an IDX header")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expect_magic:
        die(f"{path}: bad IDX magic 0x{magic:08x} (expected 0x{expect_magic:08x})")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(expect_ndim)]
    offset = 4 + 4 * expect_ndim
    count = 1
    for d in dims:
        count *= d
    if len(raw) - offset != count:
        die(f"{path}: expected {count} bytes of data after the header, "
            f"found {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def check_data_dir(data_dir):
    if not os.path.isdir(data_dir):
        die(f"data directory {data_dir!r} does not exist (pass --data DIR with "
            f"the Fashion-MNIST files: {', '.join(DATA_FILES.values())})")
    missing = [f for f in DATA_FILES.values()
               if not os.path.isfile(os.path.join(data_dir, f))]
    if missing:
        die(f"missing Fashion-MNIST file(s) in {data_dir!r}: {', '.join(missing)}")


def load_fashion_mnist(data_dir, torch):
    import numpy as np
    check_data_dir(data_dir)
    path = {k: os.path.join(data_dir, v) for k, v in DATA_FILES.items()}
    xtr = read_idx(path["train_images"], 0x00000803, 3)
    ytr = read_idx(path["train_labels"], 0x00000801, 1)
    xte = read_idx(path["test_images"], 0x00000803, 3)
    yte = read_idx(path["test_labels"], 0x00000801, 1)
    if xtr.shape[0] != ytr.shape[0] or xte.shape[0] != yte.shape[0]:
        die("image and label counts differ")
    if xtr.shape[1:] != (28, 28) or xte.shape[1:] != (28, 28):
        die("expected 28x28 images")

    # ToTensor(): pixels/255 in float32; Normalize((mean,),(std,)) with the
    # training set's statistics over all pixels.
    xtr = xtr.reshape(xtr.shape[0], -1).astype(np.float32) / np.float32(255.0)
    xte = xte.reshape(xte.shape[0], -1).astype(np.float32) / np.float32(255.0)
    mean = float(xtr.mean(dtype=np.float64))
    std = float(xtr.std(dtype=np.float64))
    xtr = (xtr - np.float32(mean)) / np.float32(std)
    xte = (xte - np.float32(mean)) / np.float32(std)
    data = {
        "xtr": torch.from_numpy(np.ascontiguousarray(xtr)),
        "ytr": torch.from_numpy(ytr.astype(np.int64)),
        "xte": torch.from_numpy(np.ascontiguousarray(xte)),
        "yte": torch.from_numpy(yte.astype(np.int64)),
        "mean": mean,
        "std": std,
    }
    return data


# --------------------------------------------------------------------------
# Model, loss and AGD
# --------------------------------------------------------------------------

def build_model(torch, depth, width, in_dim, out_dim, plain_relu):
    nn = torch.nn
    F = torch.nn.functional
    act_scale = math.sqrt(2.0)

    class FCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.initial = nn.Linear(in_dim, width, bias=False)
            self.layers = nn.ModuleList(
                [nn.Linear(width, width, bias=False) for _ in range(depth - 2)])
            self.final = nn.Linear(width, out_dim, bias=False)

        def forward(self, x):
            x = x.view(x.shape[0], -1)
            x = self.act(self.initial(x))
            for layer in self.layers:
                x = self.act(layer(x))
            return self.final(x)

        @staticmethod
        def act(x):
            return F.relu(x) if plain_relu else F.relu(x) * act_scale

    return FCN()


def make_loss(torch, kind):
    F = torch.nn.functional
    if kind == "mse":
        def loss_fn(output, target):
            k = output.shape[1]
            onehot = F.one_hot(target, num_classes=k).to(output.dtype) * math.sqrt(k)
            return (output - onehot).square().mean()
    else:
        def loss_fn(output, target):
            return F.cross_entropy(output, target)
    return loss_fn


def weight_scale(p):
    """sqrt(fan_out / fan_in), further divided by sqrt(kernel area) for convs."""
    s = math.sqrt(p.shape[0] / p.shape[1])
    if p.dim() == 4:
        s /= math.sqrt(p.shape[2] * p.shape[3])
    return s


class AGD:
    """Automatic Gradient Descent, same maths as Appendix B of the paper."""

    def __init__(self, torch, net, gain=1.0):
        self.torch = torch
        self.params = list(net.parameters())
        self.depth = len(self.params)
        self.gain = gain
        self.scales = [weight_scale(p) if p.dim() >= 2 else None for p in self.params]
        init = torch.nn.init
        with torch.no_grad():
            for p, s in zip(self.params, self.scales):
                if p.dim() == 1:
                    raise ValueError("AGD: biases are not supported")
                if p.dim() == 2:
                    init.orthogonal_(p)
                elif p.dim() == 4:
                    for kx in range(p.shape[2]):
                        for ky in range(p.shape[3]):
                            init.orthogonal_(p[:, :, kx, ky])
                p.mul_(s)

    def step(self):
        """Apply one AGD update from the current gradients; returns eta.

        The update is computed as the official code (github.com/jxbz/agd, agd.py) computes it:
        factor = sqrt(out/in) / ||grad||_F per layer (per kernel position for convs), passed
        through torch.nan_to_num, then W -= (gain * eta / L) * factor * grad, in that order.
        For a zero gradient the factor is inf, which nan_to_num turns into the largest float32
        (3.4e38): while gain * eta / L <= 1 the product stays finite and times the zero gradient
        leaves the layer unchanged (as agd does); when gain * eta / L > 1 it overflows to inf and
        inf * 0 writes NaN into that layer. The paper's Appendix B listing has no nan_to_num and
        writes NaN for any zero gradient.
        """
        torch = self.torch
        with torch.no_grad():
            # Frobenius norm of each gradient (per kernel tap for convs).
            norms = [p.grad.norm(dim=(0, 1), keepdim=True) for p in self.params]
            G = 0.0
            for s, n in zip(self.scales, norms):
                G += s * n.sum().item()
            G /= self.depth
            eta = math.log(0.5 * (1.0 + math.sqrt(1.0 + 4.0 * G)))
            base = self.gain * eta / self.depth
            for p, s, n in zip(self.params, self.scales, norms):
                factor = torch.nan_to_num(s / n)
                p.sub_(base * factor * p.grad)
        return eta


def autocast(torch, precision):
    """Context for the forward pass and the loss: bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    if precision != "fp32":
        raise ValueError(f"unknown precision {precision!r}")
    return contextlib.nullcontext()


def shuffled_batches(torch, n, batch, gen, drop_last):
    perm = torch.randperm(n, generator=gen)
    stop = n - (n % batch) if drop_last else n
    for i in range(0, stop, batch):
        yield perm[i:i + batch]


# --------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------

def setup(args):
    import_torch(args.threads, args.omp_wait_policy)
    import torch
    torch.set_num_threads(args.threads)
    blas_threads = set_blas_threads(args.threads)
    data = load_fashion_mnist(args.data, torch)
    torch.manual_seed(args.seed)
    net = build_model(torch, args.depth, args.width, data["xtr"].shape[1], 10,
                      args.plain_relu)
    opt = AGD(torch, net, gain=args.gain)
    loss_fn = make_loss(torch, args.loss)
    gen = torch.Generator()
    gen.manual_seed(args.seed + 1)
    info = (f"torch {torch.__version__}, {blas_summary(torch)}, {blas_threads}, "
            f"torch threads={torch.get_num_threads()}, "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
            f"precision={args.precision}")
    return torch, data, net, opt, loss_fn, gen, info


def train_step(net, opt, loss_fn, x, y, precision="fp32"):
    net.zero_grad(set_to_none=True)
    with autocast(opt.torch, precision):  # forward + loss only, as autocast is meant to be used
        out = net(x)
        loss = loss_fn(out, y)
    loss.backward()
    eta = opt.step()
    return out, loss, eta


def run_time(args):
    torch, data, net, opt, loss_fn, gen, info = setup(args)
    xtr, ytr = data["xtr"], data["ytr"]
    n = xtr.shape[0]
    if args.batch > n:
        die(f"--batch {args.batch} exceeds the training set size {n}")

    def batches():
        while True:  # endless stream of full shuffled batches
            for idx in shuffled_batches(torch, n, args.batch, gen, drop_last=True):
                yield xtr.index_select(0, idx), ytr.index_select(0, idx)

    stream = batches()
    net.train()
    times = []
    etas = []
    timed_s = 0.0
    for i in range(args.warmup + args.steps):
        if (args.max_seconds is not None and len(times) >= args.min_steps
                and timed_s >= args.max_seconds):
            break
        x, y = next(stream)  # data loading: not timed
        t0 = time.perf_counter()
        out, _, eta = train_step(net, opt, loss_fn, x, y, args.precision)
        t1 = time.perf_counter()
        if i >= args.warmup:
            times.append((t1 - t0) * 1e3)
            timed_s += t1 - t0
            etas.append(eta)
    med = statistics.median(times)
    mean = statistics.fmean(times)
    mn = min(times)
    print(f"# {info}, forward output dtype={str(out.dtype).replace('torch.', '')}")
    print(f"PyTorch AGD step: depth {args.depth}, width {args.width}, batch "
          f"{args.batch}, loss {args.loss}, {args.precision}, {args.threads} thread(s): median "
          f"{med:.3f} ms, mean {mean:.3f} ms, min {mn:.3f} ms over {len(times)} "
          f"steps (after {args.warmup} warm-up); mean eta {statistics.fmean(etas):.5f}")
    if args.json:
        rec = {
            "impl": "pytorch", "median_ms": med, "mean_ms": mean, "min_ms": mn,
            "threads": args.threads, "depth": args.depth, "width": args.width,
            "batch": args.batch, "loss": args.loss, "steps": len(times),
            "warmup": args.warmup, "seed": args.seed,
            "plain_relu": args.plain_relu, "precision": args.precision,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "info": info, "times_ms": times,
        }
        try:
            with open(args.json, "w") as f:
                json.dump(rec, f, indent=1)
        except OSError as exc:
            die(f"cannot write {args.json}: {exc}")
    print(f"pytorch_step_ms median={med:.4f} mean={mean:.4f} min={mn:.4f} "
          f"threads={args.threads} depth={args.depth} width={args.width} "
          f"batch={args.batch} steps={len(times)} precision={args.precision}")


def evaluate(torch, net, loss_fn, x, y, chunk=1000, precision="fp32"):
    net.eval()
    correct = 0
    loss_sum = 0.0
    with torch.no_grad(), autocast(torch, precision):
        for i in range(0, x.shape[0], chunk):
            out = net(x[i:i + chunk])
            yy = y[i:i + chunk]
            correct += int((out.argmax(dim=1) == yy).sum().item())
            loss_sum += loss_fn(out, yy).float().item() * yy.shape[0]
    net.train()
    return correct / x.shape[0], loss_sum / x.shape[0]


def run_train(args):
    torch, data, net, opt, loss_fn, gen, info = setup(args)
    xtr, ytr, xte, yte = data["xtr"], data["ytr"], data["xte"], data["yte"]
    n = xtr.shape[0]
    print(f"# {info}")
    print(f"# Fashion-MNIST train {n}, test {xte.shape[0]}; mean {data['mean']:.6f} "
          f"std {data['std']:.6f}; FCN depth {args.depth} width {args.width} "
          f"{'relu' if args.plain_relu else 'relu*sqrt(2)'}, loss {args.loss}, "
          f"batch {args.batch}, gain {args.gain}, seed {args.seed}, precision {args.precision}")
    csv = None
    if args.csv:
        try:
            csv = open(args.csv, "w")
        except OSError as exc:
            die(f"cannot write {args.csv}: {exc}")
        csv.write(CSV_HEADER + "\n")
        csv.flush()
    print(f"{'epoch':>5} {'train_loss':>11} {'train_acc':>9} {'test_acc':>9} "
          f"{'test_loss':>10} {'mean_eta':>9} {'step_ms':>8} {'epoch_s':>8}")
    net.train()
    for epoch in range(1, args.epochs + 1):
        t_epoch = time.perf_counter()
        loss_sum = acc_sum = eta_sum = step_s = 0.0
        nb = 0
        for idx in shuffled_batches(torch, n, args.batch, gen, drop_last=False):
            if args.max_steps and nb >= args.max_steps:
                break
            x, y = xtr.index_select(0, idx), ytr.index_select(0, idx)
            t0 = time.perf_counter()
            out, loss, eta = train_step(net, opt, loss_fn, x, y, args.precision)
            step_s += time.perf_counter() - t0
            loss_sum += loss.item()
            acc_sum += (out.argmax(dim=1) == y).float().mean().item()
            eta_sum += eta
            nb += 1
        train_loss, train_acc = loss_sum / nb, acc_sum / nb
        mean_eta, step_ms = eta_sum / nb, step_s / nb * 1e3
        test_acc, test_loss = evaluate(torch, net, loss_fn, xte, yte, precision=args.precision)
        epoch_s = time.perf_counter() - t_epoch
        print(f"{epoch:>5} {train_loss:>11.6f} {train_acc:>9.4%} {test_acc:>9.4%} "
              f"{test_loss:>10.6f} {mean_eta:>9.6f} {step_ms:>8.3f} {epoch_s:>8.1f}",
              flush=True)
        if csv:
            csv.write(f"{epoch},{train_loss:.6f},{train_acc:.6f},{test_acc:.6f},"
                      f"{mean_eta:.6f},{step_ms:.4f}\n")
            csv.flush()
    if csv:
        csv.close()


def main(argv=None):
    args = parse_args(argv)
    check_data_dir(args.data)
    if args.mode == "time":
        run_time(args)
    else:
        run_train(args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
