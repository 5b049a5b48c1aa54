#!/usr/bin/env python3
"""The convolutional networks of bench_cnn in PyTorch, trained by the paper's AGD step.

Times the full training step (zero_grad, forward, MSE loss, backward, AGD update) of the same
networks as examples/cnn_models.hpp, on random inputs and labels, with the Appendix B AGD of
bench/pytorch_agd.py (per-(kx, ky) slice norms for a convolution), for bench/cnn_compare.sh:

  fashion_cnn  Conv(1,32,3) relu*sqrt2 maxpool2, Conv(32,64,3) relu*sqrt2 maxpool2, flatten,
               Linear(3136,256) relu*sqrt2, Linear(256,10)
  vgg16        kuangliu/pytorch-cifar's VGG-16: 13 x (Conv3x3, BatchNorm2d, ReLU) with max
               pooling, Linear(512,10)
  resnet18     kuangliu/pytorch-cifar's pre-activation ResNet-18, with the projection shortcut
               taking the block's input (as examples::ResNet18)

No biases, and batch norm without affine parameters or running statistics (as the paper trains
them with AGD and as agd::BatchNorm is). --precision bf16 runs the forward pass and the loss
under torch.autocast("cpu", dtype=torch.bfloat16); the weights, gradients and the AGD step stay
float32. Prints one line
  pytorch_cnn model=.. batch=.. threads=.. median_ms=.. mean_ms=.. min_ms=.. steps=.. precision=..

  /usr/bin/python3 bench/pytorch_cnn_agd.py --model fashion_cnn --batch 128 --threads 2
  /usr/bin/python3 bench/pytorch_cnn_agd.py --model resnet18 --batch 32 --threads 2 --precision bf16
"""

import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_agd  # noqa: E402  (the AGD step, the loss and the torch set-up are shared)

MODELS = ("fashion_cnn", "vgg16", "resnet18")
INPUTS = {"fashion_cnn": (1, 28, 28), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32)}


def build_model(torch, name):
    nn = torch.nn
    F = torch.nn.functional

    def conv(cin, cout, k=3, stride=1):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    def bn(c):
        return nn.BatchNorm2d(c, affine=False, track_running_stats=False)

    if name == "fashion_cnn":
        class FashionCNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1, self.conv2 = conv(1, 32), conv(32, 64)
                self.fc1 = nn.Linear(64 * 7 * 7, 256, bias=False)
                self.fc2 = nn.Linear(256, 10, bias=False)

            def forward(self, x):
                g = math.sqrt(2.0)
                x = F.max_pool2d(F.relu(self.conv1(x)) * g, 2)
                x = F.max_pool2d(F.relu(self.conv2(x)) * g, 2)
                x = F.relu(self.fc1(torch.flatten(x, 1))) * g
                return self.fc2(x)
        return FashionCNN()

    if name == "vgg16":
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
               512, 512, 512, "M"]
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [conv(cin, v), bn(v), nn.ReLU()]
                cin = v

        class VGG(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(*layers)
                self.classifier = nn.Linear(512, 10, bias=False)

            def forward(self, x):
                return self.classifier(torch.flatten(self.features(x), 1))
        return VGG()

    class PreActBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1, self.conv1 = bn(cin), conv(cin, cout, 3, stride)
            self.bn2, self.conv2 = bn(cout), conv(cout, cout)
            self.shortcut = (nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
                             if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.conv1(F.relu(self.bn1(x)))
            out = self.conv2(F.relu(self.bn2(out)))
            return out + (self.shortcut(x) if self.shortcut is not None else x)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = conv(3, 64)
            blocks, cin = [], 64
            for cout, stride in ((64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1),
                                 (512, 2), (512, 1)):
                blocks.append(PreActBlock(cin, cout, stride))
                cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.linear = nn.Linear(512, 10, bias=False)

        def forward(self, x):
            out = F.avg_pool2d(self.blocks(self.conv1(x)), 4)
            return self.linear(torch.flatten(out, 1))
    return ResNet18()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--batch", type=pytorch_agd.positive_int, default=128)
    p.add_argument("--threads", type=pytorch_agd.positive_int, default=None)
    p.add_argument("--omp-wait-policy", choices=["passive", "active", "unset"],
                   default="passive",
                   help="OMP_WAIT_POLICY for torch's OpenMP pool (default: passive, its best "
                        "setting here; bench/pytorch_agd.py --help explains why)")
    p.add_argument("--precision", choices=pytorch_agd.PRECISIONS, default="fp32",
                   help="fp32 (default) or bf16: forward pass and loss under "
                        "torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--warmup", type=pytorch_agd.nonneg_int, default=5)
    p.add_argument("--max-steps", type=pytorch_agd.positive_int, default=200)
    p.add_argument("--min-steps", type=pytorch_agd.positive_int, default=10)
    p.add_argument("--max-seconds", type=float, default=2.0)
    p.add_argument("--print-parameters", action="store_true",
                   help="print the parameter count and depth and exit")
    args = p.parse_args()
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0))

    pytorch_agd.import_torch(args.threads, args.omp_wait_policy)
    import torch
    torch.set_num_threads(args.threads)
    blas = pytorch_agd.set_blas_threads(args.threads)
    torch.manual_seed(0)
    net = build_model(torch, args.model)
    if args.print_parameters:
        params = list(net.parameters())
        print(f"pytorch_cnn_parameters model={args.model} params={sum(q.numel() for q in params)} "
              f"depth={len(params)}")
        return
    opt = pytorch_agd.AGD(torch, net)
    loss_fn = pytorch_agd.make_loss(torch, "mse")
    c, h, w = INPUTS[args.model]
    samples = max(4096, 2 * args.batch)
    gen = torch.Generator()
    gen.manual_seed(1)
    inputs = torch.rand(samples, c, h, w, generator=gen) * 2 - 1
    labels = torch.arange(samples) % 10
    net.train()
    times, timed = [], 0.0
    step = 0
    while True:
        done = step - args.warmup
        if done >= args.max_steps or (done >= args.min_steps and timed >= args.max_seconds):
            break
        idx = torch.randint(0, samples, (args.batch,), generator=gen)
        x, y = inputs.index_select(0, idx), labels.index_select(0, idx)  # not timed
        t0 = time.perf_counter()
        out, _, _ = pytorch_agd.train_step(net, opt, loss_fn, x, y, args.precision)
        t1 = time.perf_counter()
        if done >= 0:
            times.append((t1 - t0) * 1e3)
            timed += t1 - t0
        step += 1
    print(f"# torch {torch.__version__}, {pytorch_agd.blas_summary(torch)}, {blas}, "
          f"mkldnn={torch.backends.mkldnn.is_available()}, torch threads={torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
          f"precision={args.precision}, forward output dtype={str(out.dtype).replace('torch.', '')}")
    print(f"pytorch_cnn model={args.model} batch={args.batch} threads={args.threads} "
          f"median_ms={statistics.median(times):.4f} mean_ms={statistics.fmean(times):.4f} "
          f"min_ms={min(times):.4f} steps={len(times)} precision={args.precision}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
