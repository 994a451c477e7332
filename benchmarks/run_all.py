"""Run every benchmark script in benchmarks/ in turn and print their tables.

    python benchmarks/run_all.py                  # all of them (what `make bench` runs)
    python benchmarks/run_all.py kernels rnn      # some, by name (with or without .py)
    python benchmarks/run_all.py --list           # what would run
    python benchmarks/run_all.py kernels -- --quick   # arguments after -- go to each script

A benchmark is any benchmarks/*.py that defines a top-level ``def main(`` (found
by reading the file, not importing it: each script pins its threads before
importing numpy, so it must start in a fresh process) other than this file
and common.py.  Each runs in its own subprocess, in name order; one failing
does not stop the others, and the exit status says whether any failed.
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NOT_BENCHMARKS = {"run_all.py", "common.py"}
DEFINES_MAIN = re.compile(r"^def main\(", re.MULTILINE)


def discover():
    """{name: path} of the benchmark scripts, sorted by name."""
    found = {}
    for entry in sorted(os.listdir(HERE)):
        if not entry.endswith(".py") or entry in NOT_BENCHMARKS or entry.startswith("_"):
            continue
        path = os.path.join(HERE, entry)
        with open(path, encoding="utf-8") as f:
            if DEFINES_MAIN.search(f.read()):
                found[entry[:-3]] = path
    return found


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description="Run minigrad's benchmark scripts in turn.")
    parser.add_argument("names", nargs="*", help="scripts to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args(argv)

    scripts = discover()
    if args.list:
        print("\n".join(scripts))
        return 0
    wanted = [name[:-3] if name.endswith(".py") else name for name in args.names] or list(scripts)
    unknown = [name for name in wanted if name not in scripts]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; available: {', '.join(scripts)}")

    failed = []
    for name in wanted:
        print(f"\n##### {name} #####", flush=True)
        start = time.perf_counter()
        status = subprocess.call([sys.executable, scripts[name]] + passthrough)
        elapsed = time.perf_counter() - start
        print(f"##### {name}: {'ok' if status == 0 else f'FAILED (exit {status})'}, "
              f"{elapsed:.1f} s #####", flush=True)
        if status != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
