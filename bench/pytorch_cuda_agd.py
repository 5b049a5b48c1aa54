#!/usr/bin/env python3
"""The PyTorch counterpart of bench/cuda_step.cu: the same networks and the paper's official AGD
step (bench/pytorch_agd.py's AGD, with its torch.nan_to_num) on a GPU, eager, timed with CUDA
events: the median of per-step times after warm-up. One JSON object per line, with the same
network names as bench_cuda_step, so that tools/gpu_table.py can put them side by side.

    python3 bench/pytorch_cuda_agd.py [--steps N] [--quick]
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_agd  # noqa: E402  (the official AGD step and the FCN)


def resnet18(torch):
    """The pre-activation ResNet-18 of examples/cnn_models.hpp: no biases, batch norm without
    affine parameters or running averages, 1x1 projections of the block's input."""
    nn = torch.nn
    F = torch.nn.functional

    def bn(c):
        return nn.BatchNorm2d(c, affine=False, track_running_stats=False)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1, self.bn2 = bn(cin), bn(cout)
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.shortcut = (nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
                             if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.conv1(F.relu(self.bn1(x)))
            out = self.conv2(F.relu(self.bn2(out)))
            return out + (self.shortcut(x) if self.shortcut is not None else x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            spec = [(64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2),
                    (256, 256, 1), (256, 512, 2), (512, 512, 1)]
            self.blocks = nn.Sequential(*[Block(*s) for s in spec])
            self.linear = nn.Linear(512, 10, bias=False)

        def forward(self, x):
            out = self.blocks(self.conv(x))
            out = F.avg_pool2d(out, 4).flatten(1)
            return self.linear(out)

    return Net()


def time_step(torch, name, net, input_shape, batch, steps, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    device = torch.device("cuda")
    net = net.to(device)
    optimizer = pytorch_agd.AGD(torch, net)
    loss_fn = pytorch_agd.make_loss(torch, "mse")
    gen = torch.Generator(device="cpu").manual_seed(2)
    x = torch.randn((batch,) + input_shape, generator=gen).to(device)
    y = (torch.arange(batch) % 10).to(device)

    def step():
        net.zero_grad(set_to_none=False)
        loss = loss_fn(net(x), y)
        loss.backward()
        return optimizer.step()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    times = []
    eta = 0.0
    for _ in range(steps):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        eta = step()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    params = sum(p.numel() for p in net.parameters())
    print(json.dumps({"bench": "pytorch_step", "network": name, "batch": batch,
                      "parameters": params, "tf32": tf32, "graph": False,
                      "median_ms": times[len(times) // 2], "eta": eta}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import torch
    if not torch.cuda.is_available():
        print("pytorch_cuda_agd: no CUDA device visible to PyTorch", file=sys.stderr)
        return 77
    fcns = [("fcn_d4_w512", 4, 512), ("fcn_d4_w1024", 4, 1024)]
    if not args.quick:
        fcns += [("fcn_d4_w4096", 4, 4096), ("fcn_d32_w256", 32, 256)]
    for tf32 in (False, True):
        for name, depth, width in fcns:
            net = pytorch_agd.build_model(torch, depth, width, 784, 10, plain_relu=False)
            time_step(torch, name, net, (784,), 128, args.steps, tf32)
        if not args.quick:
            time_step(torch, "resnet18", resnet18(torch), (3, 32, 32), 128,
                      max(10, args.steps // 5), tf32)
    return 0


if __name__ == "__main__":
    sys.exit(main())
