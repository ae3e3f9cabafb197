#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# make mutants: applies each mutation of tests/mutants/mutants.txt alone to
# a scratch copy of the tree and runs the layers named for it; a mutation a
# layer fails on is killed. Prints one line per mutation, then
# "killed K of N" and every survivor. An entry with a "=" line is expected
# to survive (the reason is given) and is not counted.
#
#   tests/mutants/run.py [ID...]        only these mutations
#
# Layers: host (the GoogleTest suite under ASan/UBSan), fuzz (each libFuzzer
# target for MUTANTS_FUZZ_SECONDS on its corpus), kunit (the KUnit VM).
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("XENIDC_BUILD", os.path.join(ROOT, ".build"))
WORK = os.path.join(BUILD, "mutants")
SRC = os.path.join(WORK, "src")
LOG = os.path.join(WORK, "log")
FUZZ_SECONDS = int(os.environ.get("MUTANTS_FUZZ_SECONDS", "8"))


def parse(path):
    mutants, cur = [], None
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("@ "):
            parts = line[2:].split()
            if len(parts) != 3:
                sys.exit(f"{path}:{n}: '@ ID FILE LAYERS'")
            cur = {"id": parts[0], "file": parts[1], "layers": parts[2].split(","),
                   "old": [], "new": [], "why": None, "line": n}
            mutants.append(cur)
        elif cur and line.startswith("- "):
            cur["old"].append(line[2:])
        elif cur and line.startswith("+ "):
            cur["new"].append(line[2:])
        elif cur and line.startswith("= "):
            cur["why"] = (cur["why"] + " " if cur["why"] else "") + line[2:]
        else:
            sys.exit(f"{path}:{n}: cannot read '{line}'")
    ids = [m["id"] for m in mutants]
    if len(ids) != len(set(ids)):
        sys.exit("duplicate mutation ids")
    return mutants


def sh(cmd, log, timeout):
    with open(log, "a") as f:
        f.write(f"$ {cmd}\n")
        f.flush()
        try:
            return subprocess.run(cmd, shell=True, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("(timed out)\n")
            return 124


def sync_tree():
    # By content, and without the sources' times: a file edited since the
    # last run must look newer than the objects built from its old copy.
    os.makedirs(WORK, exist_ok=True)
    subprocess.run(["rsync", "-rlpD", "--checksum", "--delete", "--exclude", ".build",
                    "--exclude", ".git", ROOT + "/", SRC + "/"], check=True)


def apply(m):
    path = os.path.join(SRC, m["file"])
    text = open(path).read()
    old, new = "\n".join(m["old"]), "\n".join(m["new"])
    if text.count(old) != 1:
        return f"the code to replace is found {text.count(old)} times"
    open(path, "w").write(text.replace(old, new))
    return None


def restore(m):
    shutil.copy(os.path.join(ROOT, m["file"]), os.path.join(SRC, m["file"]))


def layer_host(log):
    b = os.path.join(WORK, "host")
    if sh(f"cmake -S {SRC}/tests -B {b} -DCMAKE_BUILD_TYPE=Debug -DXENIDC_BENCH=OFF >/dev/null && "
          f"make -C {b} -j{os.cpu_count()} host_tests", log, 900):
        return "stillborn"
    # a hang counts as killed: the tests take seconds
    return "killed" if sh(f"{b}/host_tests --gtest_brief=1", log, 120) else "survived"


def layer_fuzz(log):
    b = os.path.join(WORK, "fuzz")
    if sh(f"CC=clang CXX=clang++ cmake -S {SRC}/tests -B {b} -DXENIDC_FUZZ=ON "
          f"-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && make -C {b} -j{os.cpu_count()}",
          log, 900):
        return "stillborn"
    cache = os.path.join(os.environ.get("XENIDC_CACHE", "/var/cache/xenidc"), "fuzz")
    for t in ("ring", "blkif", "usbif", "xenbus"):
        corpus = os.path.join(WORK, "corpus", t)
        os.makedirs(corpus, exist_ok=True)
        for d in (os.path.join(ROOT, "tests/fuzz/corpus", t), os.path.join(cache, t)):
            if os.path.isdir(d):
                sh(f"cp -n {d}/* {corpus}/ 2>/dev/null; true", log, 60)
        if sh(f"cd {WORK} && {b}/fuzz_{t} -max_total_time={FUZZ_SECONDS} -timeout=30 "
              f"-rss_limit_mb=2048 {corpus}", log, FUZZ_SECONDS + 300):
            return "killed"
    return "survived"


def layer_kunit(log):
    env = f"XENIDC_ROOT={SRC} XENIDC_BUILD={WORK}/kunit-build"
    sh(f"{env} {SRC}/tests/kunit/run.sh", log, 1800)
    out = open(log).read()
    if "modules build against the KUnit kernel" in out and \
            "not ok - modules build against the KUnit kernel" in out:
        return "stillborn"
    m = re.findall(r"^LAYER kunit: (\d+) passed, (\d+) failed", out, re.M)
    return "killed" if not m or m[-1][1] != "0" else "survived"


LAYERS = {"host": layer_host, "fuzz": layer_fuzz, "kunit": layer_kunit}


def main():
    mutants = parse(os.path.join(ROOT, "tests/mutants/mutants.txt"))
    want = set(sys.argv[1:])
    if want:
        mutants = [m for m in mutants if m["id"] in want]
    os.makedirs(LOG, exist_ok=True)
    sync_tree()
    counted = [m for m in mutants if not m["why"]]
    killed, survivors, bad = 0, [], []
    t0 = time.time()
    for m in mutants:
        log = os.path.join(LOG, m["id"] + ".log")
        open(log, "w").close()
        err = apply(m)
        if err:
            bad.append((m, err))
            print(f"broken   {m['id']}: {err}", flush=True)
            continue
        t = time.time()
        verdict = "survived"
        for layer in m["layers"]:
            verdict = LAYERS[layer](log)
            if verdict != "survived":
                break
        restore(m)
        if verdict == "stillborn":
            bad.append((m, "does not build (see its log)"))
        elif verdict == "killed" and not m["why"]:
            killed += 1
        elif verdict == "survived" and not m["why"]:
            survivors.append(m)
        note = f" (expected to survive: {m['why']})" if m["why"] else ""
        print(f"{verdict:8} {m['id']} [{','.join(m['layers'])}] {time.time() - t:.0f} s{note}",
              flush=True)
    # the last layer builds leave the pristine sources behind
    print(f"killed {killed} of {len(counted)} in {time.time() - t0:.0f} s; "
          f"logs in {LOG}")
    for m in survivors:
        print(f"survivor: {m['id']} ({m['file']}, tests/mutants/mutants.txt:{m['line']})")
    for m, why in bad:
        print(f"broken: {m['id']}: {why}")
    return 0 if killed == len(counted) and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
