#!/usr/bin/env python3
"""Checks that every include between the folders of include/agd points down.

The folders are ranked below; a header may include headers of its own folder and of folders of a
lower rank only. The top level (agd.hpp, cuda.hpp, sequential.hpp) is the umbrella and may include
anything. Prints the folder-level include edges, then each include that points up or sideways,
and exits 1 if there is one.
"""
import pathlib
import re
import sys

# Lowest first. Folders of one rank never include each other.
RANKS = [
    ["core"],
    ["layers", "init", "data"],
    ["network", "loss", "optim", "io"],
    ["backend/eigen"],
    # The CUDA backend on Thrust's host system multiplies with the CPU backend's GEMM.
    ["backend/cuda"],
    ["distributed"],
    ["train"],
]
RANK = {folder: rank for rank, folders in enumerate(RANKS) for folder in folders}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]agd/([^>"]+)[>"]', re.MULTILINE)


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "include") / "agd"
    edges: dict[tuple[str, str], list[str]] = {}
    for header in sorted(root.rglob("*")):
        if header.suffix not in (".hpp", ".cuh", ".h") or not header.is_file():
            continue
        folder = header.parent.relative_to(root).as_posix()
        if folder == ".":
            continue
        if folder not in RANK:
            print(f"include_order: {header}: folder '{folder}' has no rank; add it to RANKS")
            return 1
        for target in INCLUDE.findall(header.read_text()):
            target_folder = pathlib.PurePosixPath(target).parent.as_posix()
            if target_folder != folder:
                edges.setdefault((folder, target_folder), []).append(
                    f"{header.relative_to(root)} -> {target}")
    wrong = []
    for (source, target), includes in sorted(edges.items()):
        ok = target in RANK and RANK[target] < RANK[source]
        print(f"{source} -> {target} ({len(includes)})" + ("" if ok else "  POINTS UP OR SIDEWAYS"))
        if not ok:
            wrong.extend(includes)
    for line in wrong:
        print(f"include_order: {line} does not point down (ranks in {__file__})")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
