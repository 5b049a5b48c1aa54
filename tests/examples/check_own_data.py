#!/usr/bin/env python3
"""ctest examples.own_data: the program of docs/getting-started.md ("Your own data") is
examples/own_data.cpp word for word, and it trains on CSV files, saves, reloads and classifies.

The data: three Gaussian clusters in 4 dimensions, 4.2 standard deviations apart (600 training
samples with a header line, 150 test samples): the best possible classifier gets about 96% right,
chance 33%. The check asks for 85%, and for the reloaded model, fed raw samples, to score exactly
what the trained one scored on the preprocessed test set.

  check_own_data.py --bin build/examples/own_data --doc docs/getting-started.md
                    --source examples/own_data.cpp --scratch DIR
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys


def documented_program(doc):
    text = open(doc).read()
    marker = "<!-- the program of examples/own_data.cpp -->"
    if marker not in text:
        sys.exit(f"{doc}: no '{marker}' before the program")
    block = re.search(r"```cpp\n(.*?)```", text[text.index(marker):], re.S)
    return block.group(1)


def write_clusters(path, count, rng, header):
    centres = [(0, 0, 0, 0), (3, 3, 0, 0), (0, 3, 3, 3)]
    with open(path, "w") as f:
        if header:
            f.write("a,b,c,d,class\n")
        for i in range(count):
            label = i % 3
            # Raw features on a large scale and offset, which the saved preprocessing undoes.
            features = [100 + 20 * (c + rng.gauss(0, 1)) for c in centres[label]]
            f.write(",".join(f"{x:.4f}" for x in features) + f",{label}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--scratch", required=True)
    args = parser.parse_args()

    source = open(args.source).read()
    code = source[source.index("#include <agd/agd.hpp>"):]
    if documented_program(args.doc) != code:
        sys.exit(f"{args.doc} and {args.source} differ: keep the documented program and the "
                 "example the same (the example's header comment aside)")
    print("the documented program is examples/own_data.cpp")
    includes = re.findall(r"#include <agd/[^>]*>", code)
    if includes != ["#include <agd/agd.hpp>"]:
        sys.exit(f"the program includes {includes}; it must need only <agd/agd.hpp>")

    shutil.rmtree(args.scratch, ignore_errors=True)
    os.makedirs(args.scratch)
    rng = random.Random(11)
    train, test = (os.path.join(args.scratch, n) for n in ("train.csv", "test.csv"))
    write_clusters(train, 600, rng, header=True)
    write_clusters(test, 150, rng, header=False)
    model = os.path.join(args.scratch, "model.safetensors")
    done = subprocess.run([args.bin, train, test, model], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    print(done.stdout[-3000:])
    if done.returncode != 0:
        sys.exit(f"own_data exited {done.returncode}")
    reloaded = float(re.search(r"reloaded model: ([0-9.]+)%", done.stdout).group(1))
    evaluated = float(re.search(r"agd::evaluate: ([0-9.]+)%", done.stdout).group(1))
    trained = float(re.findall(r"test acc ([0-9.]+)%", done.stdout)[-1])
    if not (reloaded == evaluated == trained):
        sys.exit(f"the reloaded model's accuracy ({reloaded}% by predict, {evaluated}% by "
                 f"evaluate) differs from the trained one's ({trained}%)")
    if reloaded < 85:
        sys.exit(f"test accuracy {reloaded}% on the clusters; expected >= 85%")
    if not re.search(r"sample 0: class [0-2] with probability (0\.[3-9]|1\.0)", done.stdout):
        sys.exit("no plausible class probability for sample 0")
    shutil.rmtree(args.scratch, ignore_errors=True)
    print(f"ok: {reloaded}% of the test set right after reloading")
    return 0


if __name__ == "__main__":
    sys.exit(main())
