#!/usr/bin/env python3
"""ctest examples.every_example_answers_help: each example, run with --help, exits 0 and prints
its usage (naming the program) on stdout; the MPI example under mpirun prints it once (rank 0)
and the job exits 0 too. Every run has a timeout, so a hang is a failure.

  check_help.py --bin build/examples/fashion_mnist ... [--mpi-bin PROGRAM --mpirun MPIRUN ARG...]
"""
import argparse
import os
import re
import subprocess
import sys

TIMEOUT = 120


def run(command):
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT, text=True, errors="replace")
        return done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", nargs="+", required=True, help="the examples to run")
    parser.add_argument("--mpi-bin", help="an example to run under mpirun")
    parser.add_argument("--mpirun", nargs=argparse.REMAINDER, default=[],
                        help="the mpirun command and its flags (last: the rest of the line)")
    args = parser.parse_args()
    failures = []
    runs = [(os.path.basename(b), [b, "--help"], 1) for b in args.bin]
    if args.mpi_bin:
        runs.append((os.path.basename(args.mpi_bin) + " under mpirun",
                     args.mpirun + [args.mpi_bin, "--help"], 1))
    for name, command, copies in runs:
        rc, out, err = run(command)
        program = name.split()[0]
        usages = re.findall(r"(?im)^usage: \S*" + re.escape(program) + r"\b", out)
        if rc == 0 and len(usages) == copies:
            print(f"ok    {name} --help: exit 0, usage on stdout")
        else:
            print(f"FAIL  {name} --help: exit {rc}, {len(usages)} usage lines naming {program} on "
                  f"stdout (expected {copies})\nstdout:\n{out[-1500:]}\nstderr:\n{err[-1500:]}")
            failures.append(name)
    if failures:
        print(f"{len(failures)} examples do not answer --help: {', '.join(failures)}")
        return 1
    print(f"all {len(runs)} answer --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
