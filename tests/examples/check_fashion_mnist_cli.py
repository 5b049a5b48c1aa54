#!/usr/bin/env python3
"""What examples/fashion_mnist does with bad flags, paths and checkpoints (ctest
examples.fashion_mnist_cli). Each check runs the program on a tiny generated data set in the
MNIST layout (256 training and 64 test images, 2 steps an epoch) and asserts the exit status,
the message, and what is left on disk. Every run has a timeout, so a hang is a failure.

  check_fashion_mnist_cli.py --bin build/examples/fashion_mnist --scratch DIR [--only NAME...]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys

TIMEOUT = int(os.environ.get("AGD_CLI_TIMEOUT", "300"))  # seconds per run; a hang (e.g. open() on a FIFO) fails the check


def write_idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, len(dims)))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(bytes(data))


def make_data(directory, train=256, test=64):
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(7)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = [rng.randrange(10) for _ in range(count)]
        # Images that depend on the label, so that training has something to learn.
        pixels = []
        for label in labels:
            pixels.extend((rng.randrange(64) + (160 if i // 78 == label else 0)) % 256
                          for i in range(784))
        write_idx(os.path.join(directory, prefix + "-images-idx3-ubyte"), [count, 28, 28], pixels)
        write_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte"), [count], labels)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length]), blob[8 + length:]


def write_safetensors(path, header, data):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def edit_metadata(source, target, **changes):
    header, data = read_safetensors(source)
    for key, value in changes.items():
        header["__metadata__"][key.replace("__", ".")] = value
    write_safetensors(target, header, data)


class Checker:
    def __init__(self, binary, scratch):
        self.binary = binary
        self.scratch = scratch
        self.data = os.path.join(scratch, "data")
        self.failures = []

    def path(self, name):
        return os.path.join(self.scratch, name)

    def run(self, *flags, data=None):
        command = [self.binary, "--data", self.data if data is None else data]
        for flag, default in (("--threads", "1"), ("--batch", "128")):
            if flag not in flags:
                command += [flag, default]
        command += flags
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=TIMEOUT, text=True, errors="replace")
            return done.returncode, done.stdout
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout.decode(errors="replace") if expired.stdout else ""
            return "timeout", out

    def expect(self, name, condition, detail):
        if condition:
            print(f"ok    {name}")
        else:
            print(f"FAIL  {name}: {detail}")
            self.failures.append(name)

    def expect_error(self, name, result, *fragments, trained=False):
        """Exit status 1 (or CLI11's 105 for a flag), every fragment in the output, and no epoch
        trained unless `trained`."""
        rc, out = result
        missing = [f for f in fragments if f not in out]
        ok = rc not in (0, "timeout") and (rc == 1 or rc == 105) and not missing
        if not trained and "epoch 1:" in out:
            ok = False
        self.expect(name, ok, f"exit {rc}, missing {missing}, output:\n{out[-1500:]}")


def check_paths_that_are_not_regular_files(c):
    fifo = c.path("checkpoint.fifo")
    os.mkfifo(fifo)
    c.expect_error("--checkpoint FIFO is refused before training",
                   c.run("--epochs", "1", "--checkpoint", fifo), "FIFO", "not a regular file")
    c.expect("--checkpoint FIFO is still a FIFO", stat.S_ISFIFO(os.lstat(fifo).st_mode),
             "it was replaced")
    csv_fifo = c.path("csv.fifo")
    os.mkfifo(csv_fifo)
    c.expect_error("--csv FIFO is refused before training",
                   c.run("--epochs", "1", "--csv", csv_fifo), "FIFO", "not a regular file")
    c.expect("--csv FIFO is still a FIFO", stat.S_ISFIFO(os.lstat(csv_fifo).st_mode),
             "it was replaced")
    c.expect_error("--checkpoint directory is refused before training",
                   c.run("--epochs", "1", "--checkpoint", c.scratch), "a directory")


def check_symlinks_are_followed(c):
    real_checkpoint = c.path("real.safetensors")
    real_csv = c.path("real.csv")
    open(real_csv, "w").close()
    os.symlink("real.safetensors", c.path("link.safetensors"))  # dangling until written
    os.symlink("real.csv", c.path("link.csv"))
    rc, out = c.run("--epochs", "1", "--checkpoint", c.path("link.safetensors"), "--csv",
                    c.path("link.csv"))
    c.expect("a run through symbolic links succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    c.expect("the checkpoint link is still a link, to the written file",
             os.path.islink(c.path("link.safetensors")) and os.path.getsize(real_checkpoint) > 0,
             "the link was replaced")
    c.expect("the CSV link is still a link, to the written rows",
             os.path.islink(c.path("link.csv")) and open(real_csv).read().count("\n") == 2,
             "the link was replaced or the rows are missing")
    c.expect("no temporary files are left",
             not [f for f in os.listdir(c.scratch) if ".tmp" in f], os.listdir(c.scratch))


def check_resume_past_the_end(c):
    checkpoint = c.path("done.safetensors")
    rc, out = c.run("--epochs", "1", "--checkpoint", checkpoint)
    c.expect("a 1-epoch run with --checkpoint succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    rc, out = c.run("--epochs", "1", "--checkpoint", checkpoint, "--resume", checkpoint)
    c.expect("resuming a finished run says it is complete (no crash)",
             rc == 0 and "is complete" in out and "final test accuracy" in out,
             f"exit {rc}:\n{out[-1500:]}")
    edit_metadata(checkpoint, c.path("epoch5.safetensors"), train__epoch="5")
    c.expect_error("a checkpoint beyond --epochs asks for more epochs",
                   c.run("--epochs", "1", "--resume", c.path("epoch5.safetensors")),
                   "epoch 5", "--epochs 5")
    edit_metadata(checkpoint, c.path("minus1.safetensors"), train__epoch="-1")
    c.expect_error("train.epoch -1 is refused as corrupt",
                   c.run("--epochs", "1", "--resume", c.path("minus1.safetensors")),
                   "'train.epoch' is \"-1\"", "not a non-negative integer")
    edit_metadata(checkpoint, c.path("garbled.safetensors"), train__seen="12abc")
    c.expect_error("a garbled count is refused, naming the entry (not 'stoull')",
                   c.run("--epochs", "2", "--resume", c.path("garbled.safetensors")),
                   "'train.seen' is \"12abc\"")
    edit_metadata(checkpoint, c.path("garbled_sum.safetensors"), train__loss_sum="0x1p+3 junk")
    c.expect_error("a garbled float is refused, naming the entry",
                   c.run("--epochs", "2", "--resume", c.path("garbled_sum.safetensors")),
                   "'train.loss_sum' is \"0x1p+3 junk\"")


def check_resume_with_other_settings(c):
    checkpoint = c.path("settings.safetensors")
    rc, out = c.run("--epochs", "1", "--checkpoint", checkpoint)
    c.expect("a run to resume succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    for flags, fragment in ((["--batch", "64"], "batch size 128 (now 64)"),
                            (["--seed", "3"], "seed 0 (now 3)"),
                            (["--loss", "xent"], "loss mse (now xent)"),
                            (["--inputs", "prescription1"], "--inputs standardise (now prescription1)"),
                            (["--gain", "0.5"], "--gain 1 (now 0.5)")):
        c.expect_error(f"resuming with {' '.join(flags)} is refused",
                       c.run("--epochs", "2", "--resume", checkpoint, *flags), fragment)
    rc, out = c.run("--epochs", "2", "--resume", checkpoint, "--threads", "2")
    c.expect("resuming with other --threads continues and says so",
             rc == 0 and "saved with 1 threads and continues with 2" in out,
             f"exit {rc}:\n{out[-1500:]}")


def check_resume_with_other_data(c):
    checkpoint = c.path("data.safetensors")
    rc, out = c.run("--epochs", "1", "--checkpoint", checkpoint)
    c.expect("a run to resume succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    # As many training images (so fit's size check passes), each pixel halved: another mean
    # and std, which the checkpoint's weights were not trained on.
    other = c.path("other_data")
    shutil.copytree(c.data, other)
    images = os.path.join(other, "train-images-idx3-ubyte")
    with open(images, "rb") as f:
        blob = f.read()
    with open(images, "wb") as f:
        f.write(blob[:16] + bytes(p // 2 for p in blob[16:]))
    c.expect_error("resuming on other training data is refused",
                   c.run("--epochs", "2", "--resume", checkpoint, data=other),
                   "cannot resume from", "not the data the run was trained on")
    rc, out = c.run("--epochs", "2", "--resume", checkpoint)
    c.expect("resuming on the same data continues", rc == 0 and "epoch 2:" in out,
             f"exit {rc}:\n{out[-1500:]}")


def check_fifo_reads_do_not_hang(c):
    checkpoint = c.path("for_fifo.safetensors")
    rc, out = c.run("--epochs", "1", "--checkpoint", checkpoint)
    c.expect("a run to resume succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    fifo = c.path("resume.fifo")
    os.mkfifo(fifo)
    c.expect_error("--resume FIFO is refused, not waited on", c.run("--epochs", "2", "--resume", fifo),
                   "FIFO", "not a regular file")
    csv_fifo = c.path("resumed_csv.fifo")
    os.mkfifo(csv_fifo)
    c.expect_error("--csv FIFO on a resumed run is refused, not waited on",
                   c.run("--epochs", "2", "--resume", checkpoint, "--csv", csv_fifo), "FIFO")


def check_failing_early(c):
    missing = c.path("no/such/dir/run.safetensors")
    c.expect_error("an unwritable --checkpoint is found before training",
                   c.run("--epochs", "1", "--checkpoint", missing), "does not exist")
    c.expect_error("an unwritable --csv is found before training",
                   c.run("--epochs", "1", "--csv", c.path("no/such/dir/run.csv")),
                   "does not exist")
    c.expect_error("a batch larger than the training set is refused before allocating it",
                   c.run("--epochs", "1", "--batch", "1000000"),
                   "--batch 1000000 is larger than the training set (256 samples)")
    c.expect_error("--batch 1e8 is refused as a flag", c.run("--batch", "1e8"),
                   "\"1e8\" is not a whole number")


def check_flags_are_validated(c):
    for flags, fragment in ((["--gain", "nan"], "\"nan\" is not a finite number"),
                            (["--gain", "1e300"], "\"1e300\" is not a finite number"),
                            (["--optimizer", "sgd", "--lr", "1e300"], "\"1e300\" is not a finite"),
                            (["--optimizer", "sgd", "--momentum", "nan"], "\"nan\" is not a finite"),
                            (["--max-steps", "-1"], "\"-1\" is not a whole number"),
                            (["--epochs", "1e23"], "\"1e23\" is not a whole number"),
                            (["--epochs", "99999999999999999999999"], "is not a whole number"),
                            (["--seed", "-5"], "\"-5\" is not a whole number"),
                            (["--threads", "-1"], "\"-1\" is not a whole number")):
        rc, out = c.run(*flags)
        c.expect(f"{' '.join(flags)} is refused with a short message",
                 rc == 105 and fragment in out and max(map(len, out.splitlines())) < 200,
                 f"exit {rc}:\n{out[-1500:]}")


def check_data_paths(c):
    broken = c.path("broken_data")
    shutil.copytree(c.data, broken)
    os.remove(os.path.join(broken, "train-images-idx3-ubyte"))
    os.mkdir(os.path.join(broken, "train-images-idx3-ubyte"))
    c.expect_error("a directory where a data file should be is named as such",
                   c.run("--epochs", "1", data=broken), "is a directory")
    os.rmdir(os.path.join(broken, "train-images-idx3-ubyte"))
    os.symlink("train-images-idx3-ubyte", os.path.join(broken, "train-images-idx3-ubyte"))
    c.expect_error("a symbolic link loop where a data file should be is named as such",
                   c.run("--epochs", "1", data=broken), "loop of symbolic links")


def check_flags_that_would_lose_work(c):
    """An empty path is not "no file", and two outputs naming one file would overwrite each
    other: all refused before any work, and the files already there keep their bytes."""
    keep = c.path("keep.safetensors")
    rc, out = c.run("--epochs", "1", "--checkpoint", keep)
    c.expect("a run to keep succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    kept = open(keep, "rb").read()

    def unchanged(name):
        c.expect(f"{name}: the checkpoint keeps its bytes", open(keep, "rb").read() == kept,
                 "it was overwritten")

    c.expect_error("--resume \"\" is refused (not a run from scratch)",
                   c.run("--epochs", "2", "--resume", "", "--checkpoint", keep),
                   "--resume", "empty")
    unchanged("--resume \"\"")
    for flag in ("--checkpoint", "--csv"):
        c.expect_error(f"{flag} \"\" is refused", c.run("--epochs", "1", flag, ""), flag, "empty")
    c.expect_error("--data \"\" is refused", c.run("--epochs", "1", data=""), "--data", "empty")
    c.expect_error("--checkpoint and --csv naming the same file are refused",
                   c.run("--epochs", "1", "--checkpoint", keep, "--csv", keep),
                   "--checkpoint", "--csv", "the same file")
    unchanged("--checkpoint X --csv X")
    # Other spellings of the same file: a path through "..", and a symbolic link to it.
    os.makedirs(c.path("sub"), exist_ok=True)
    os.symlink("keep.safetensors", c.path("keep_link.safetensors"))
    for other in (os.path.join(c.path("sub"), "..", "keep.safetensors"),
                  c.path("keep_link.safetensors")):
        c.expect_error(f"--csv {os.path.relpath(other, c.scratch)} (the checkpoint) is refused",
                       c.run("--epochs", "1", "--checkpoint", keep, "--csv", other),
                       "the same file")
    unchanged("other spellings")
    # --csv naming the checkpoint to resume from would replace it with rows.
    c.expect_error("--csv naming the --resume checkpoint is refused",
                   c.run("--epochs", "2", "--resume", keep, "--csv", keep),
                   "--resume", "--csv", "the same file")
    unchanged("--resume X --csv X")
    # The one pairing that is meant: resume from the checkpoint the run goes on writing.
    rc, out = c.run("--epochs", "2", "--resume", keep, "--checkpoint", keep)
    c.expect("--checkpoint X --resume X still continues the run", rc == 0 and "resumed from" in out,
             f"exit {rc}:\n{out[-1500:]}")


def check_sigint_saves_and_resumes(c):
    """Ctrl-C mid-run: the program finishes the step, saves the checkpoint there, says how to go
    on and exits 130; resumed, the run ends with the very checkpoint an uninterrupted run writes.
    When the signal lands does not matter: every stop point must resume to the same bytes."""
    epochs = "40"
    full = c.path("sigint_full.safetensors")
    rc, out = c.run("--epochs", epochs, "--checkpoint", full)
    c.expect("the uninterrupted run succeeds", rc == 0, f"exit {rc}:\n{out[-1500:]}")
    cut = c.path("sigint_cut.safetensors")
    command = [c.binary, "--data", c.data, "--threads", "1", "--batch", "128", "--epochs", epochs,
               "--checkpoint", cut]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
    out = ""
    for line in run.stdout:
        out += line
        if line.startswith("epoch 3:"):
            run.send_signal(signal.SIGINT)
            break
    try:
        out += run.communicate(timeout=TIMEOUT)[0]
    except subprocess.TimeoutExpired:
        run.kill()
        out += run.communicate()[0]
    c.expect("SIGINT stops the run with status 130, saying where the checkpoint is",
             run.returncode == 130 and "stopped by SIGINT" in out and
             f"add --resume {cut}" in out and "final test accuracy" not in out,
             f"exit {run.returncode}:\n{out[-1500:]}")
    stopped = re.search(r"stopped as asked (after (step \d+ of \d+ of )?epoch \d+)", out)
    c.expect("fit says where it stopped", stopped is not None, out[-1500:])
    rc, out = c.run("--epochs", epochs, "--checkpoint", cut, "--resume", cut)
    c.expect("the stopped run resumes to the end", rc == 0 and "resumed from" in out,
             f"exit {rc}:\n{out[-1500:]}")
    c.expect("the resumed run ends with the uninterrupted run's checkpoint, byte for byte",
             open(cut, "rb").read() == open(full, "rb").read(),
             f"{cut} and {full} differ (stopped {stopped.group(1) if stopped else '?'})")


CHECKS = [check_paths_that_are_not_regular_files, check_symlinks_are_followed,
          check_resume_past_the_end, check_resume_with_other_settings, check_resume_with_other_data,
          check_fifo_reads_do_not_hang, check_failing_early, check_flags_are_validated,
          check_data_paths, check_flags_that_would_lose_work, check_sigint_saves_and_resumes]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    shutil.rmtree(args.scratch, ignore_errors=True)
    os.makedirs(args.scratch)
    checker = Checker(os.path.abspath(args.bin), os.path.abspath(args.scratch))
    make_data(checker.data)
    for check in CHECKS:
        if args.only and check.__name__ not in args.only:
            continue
        print(f"-- {check.__name__}")
        check(checker)
    if checker.failures:
        print(f"{len(checker.failures)} checks failed")
        return 1
    shutil.rmtree(args.scratch, ignore_errors=True)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
