#!/usr/bin/env python3
"""Puts tools/gpu_check.sh's results into one Markdown table: agd's CUDA step (eager and CUDA
Graph, FP32 and TF32) against PyTorch running the same AGD step, the AGD update against its
memory-bandwidth bound, and the device tests' summary.

    python3 tools/gpu_table.py OUT_DIR > OUT_DIR/gpu_check.md
"""
import json
import os
import sys


def read_lines(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    agd = read_lines(os.path.join(out, "bench_cuda_step.jsonl"))
    torch = read_lines(os.path.join(out, "pytorch_cuda_agd.jsonl"))
    print("# GPU check\n")
    device = os.path.join(out, "device.txt")
    if os.path.exists(device):
        print("Device: " + open(device).read().strip() + "\n")
    tests = os.path.join(out, "test_cuda_device.txt")
    if os.path.exists(tests):
        summary = [l.strip() for l in open(tests) if "test cases" in l or "assertions" in l]
        print("Parity tests on the device: " + ("; ".join(summary) or "no summary line") + "\n")
    print("| network | batch | precision | agd eager ms | agd graph ms | PyTorch eager ms "
          "| speed-up (eager) | speed-up (graph) |")
    print("|---|---|---|---|---|---|---|---|")
    for step in [r for r in agd if r["bench"] == "step" and not r["graph"]]:
        graph = next((r for r in agd if r["bench"] == "step" and r["graph"]
                      and r["network"] == step["network"] and r["tf32"] == step["tf32"]), None)
        ref = next((r for r in torch if r["network"] == step["network"]
                    and r["tf32"] == step["tf32"]), None)
        g = graph["median_ms"] if graph else float("nan")
        t = ref["median_ms"] if ref else float("nan")
        print(f"| {step['network']} | {step['batch']} | {'TF32' if step['tf32'] else 'FP32'} "
              f"| {step['median_ms']:.3f} | {g:.3f} | {t:.3f} | {t / step['median_ms']:.2f}x "
              f"| {t / g:.2f}x |")
    for update in [r for r in agd if r["bench"] == "agd_update"]:
        print(f"\nAGD update alone, {update['network']} ({update['parameters']} parameters): "
              f"{update['median_ms']:.4f} ms against a bandwidth bound of "
              f"{update['bound_ms']:.4f} ms ({update['bandwidth_gbs']:.0f} GB/s measured by a "
              f"device copy in the same run): {update['ratio_to_bound']:.2f}x the bound.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
