#!/usr/bin/env python
"""A long fuzz campaign over wlgeo's inputs, in subprocesses, with minimal reproducers.

Runs the hypothesis strategies of ``tests/fuzz_cases.py`` (部标 TXT, corner tables, GeoJSON,
random bytes, catalog TOML, scenario TOML, CLI arguments) for ``--minutes`` in worker
subprocesses, round-robin over the targets, in chunks of examples with fresh seeds. The property
is the suite's: a reader returns a frame or raises a one-line ``WlgeoError``; the CLI exits 0, 1
or 2 without a traceback. The campaign records:

- **crash**: any other exception (hypothesis shrinks it to a minimal case);
- **hang**: one case running longer than ``--hang-seconds`` (60): the worker is killed;
- **memory**: the worker's peak resident memory (``VmHWM``) passing ``--memory-limit``; the
  worker runs under the same ``wlgeo`` memory budget, so wlgeo must refuse before that.

Each finding is written to ``--out`` (default ``fuzz-findings/``) as ``<target>-<kind>-<n>.case``
(the input, as bytes) and ``.txt`` (what happened), and a ``summary.json`` gives the counts per
target. Exit code 0 when nothing was found, 1 otherwise.

Usage::

    python scripts/fuzz.py --minutes 30 --memory-limit 2GiB
    python scripts/fuzz.py --minutes 5 --targets bubiao,geojson --out /tmp/fuzz

Linux only (peak memory from ``/proc/<pid>/status``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("bubiao", "corners", "geojson", "bytes", "catalog", "scenario", "cli")
_QUARRIES_GEOJSON = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"quarry_id":"Q1",'
                     '"capacity":60,"license_end":"2030-12-31"},"geometry":{"type":"Polygon","coordinates":'
                     '[[[107.75,29.35],[107.76,29.35],[107.76,29.36],[107.75,29.35]]]}}]}')


# ----------------------------------------------------------------------------- worker side
def _strategy(target: str):
    from hypothesis import strategies as st

    import fuzz_cases as fc

    return {
        "bubiao": st.tuples(fc.bubiao_text(), st.sampled_from(["utf-8", "gbk"])).map(
            lambda t: t[0].encode(t[1], errors="replace")),
        "corners": st.tuples(fc.corner_csv(), st.sampled_from(["utf-8", "utf-8-sig", "gbk"])).map(
            lambda t: t[0].encode(t[1], errors="replace")),
        "geojson": fc.geojson_text().map(lambda t: t.encode("utf-8", errors="surrogatepass")),
        "bytes": st.binary(max_size=2000),
        "catalog": fc.catalog_text().map(lambda t: t.encode("utf-8", errors="surrogatepass")),
        "scenario": fc.scenario_dict().map(lambda d: fc.scenario_toml(d).encode("utf-8", errors="surrogatepass")),
        "cli": fc.cli_args().map(lambda a: json.dumps([x for x in a if x != "demo"]).encode()),
    }[target]


def _check(target: str, case: bytes, tmp: Path, memory_limit: str) -> str:
    """Run one case; return its outcome ('ok' or 'refused'); raise on a property violation."""
    import warnings

    import wlgeo
    from wlgeo.model.errors import WlgeoError
    from wlgeo.model.resources import using_budget

    with using_budget(memory_limit), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if target == "cli":
                import fuzz_cases as fc
                from wlgeo.cli import main

                (tmp / "q.geojson").write_text(_QUARRIES_GEOJSON, encoding="utf-8")
                result = fc.invoke_cli(main, json.loads(case), str(tmp))
                if result.exit_code not in (0, 1, 2) or "Traceback" in result.output or (
                        result.exception is not None and not isinstance(result.exception, SystemExit)):
                    raise AssertionError(f"exit {result.exit_code}: {result.output[-2000:]} {result.exception!r}")
                return "ok" if result.exit_code == 0 else "refused"
            if target == "scenario":
                path = tmp / "s.toml"
                path.write_bytes(case)
                wlgeo.Scenario.from_toml(path)
                return "ok"
            if target == "catalog":
                (tmp / "q.geojson").write_text(_QUARRIES_GEOJSON, encoding="utf-8")
                path = tmp / "pack.toml"
                path.write_bytes(case)
                wlgeo.read_pack(path)
                return "ok"
            name = {"bubiao": "parcels.txt", "corners": "corners.csv", "geojson": "layer.geojson"}.get(target)
            suffixes = (".txt", ".csv", ".geojson", ".gpkg", ".shp")
            path = tmp / (name or "f" + suffixes[len(case) % len(suffixes)])
            path.write_bytes(case)
            frame = wlgeo.read_layer(path, working_crs="EPSG:4545")  # as a Wulong pack reads it (tests/test_fuzz.py)
            assert frame.crs is not None and frame.crs.to_epsg() == 4545
            return "ok"
        except WlgeoError as err:
            if not str(err).strip() or (len(str(err).splitlines()) > 1 and not isinstance(err, wlgeo.PackError)):
                raise AssertionError(f"message not one line: {str(err)[:500]!r}") from err
            return "refused"


def worker(args) -> int:
    """Run ``--examples`` cases of one target; write each case to ``--case-file`` before running it."""
    sys.path.insert(0, str(REPO / "tests"))
    from hypothesis import HealthCheck, given, seed, settings

    strategy = _strategy(args.worker)
    case_file = Path(args.case_file)
    counts = {"ok": 0, "refused": 0}
    failures: list[dict] = []
    last_failure: dict = {}

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: bytes) -> None:
        case_file.write_bytes(case)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                outcome = _check(args.worker, case, Path(tmp), args.memory_limit)
            except Exception as err:  # a property violation: hypothesis shrinks it
                last_failure.update(case=case, error=f"{type(err).__name__}: {err}",
                                    traceback="".join(traceback.format_exception(err))[-4000:])
                raise
        counts[outcome] += 1

    try:
        run()
    except Exception:  # noqa: BLE001 - hypothesis re-raises the minimal failing case last
        if last_failure:
            failures.append({"error": last_failure["error"], "traceback": last_failure["traceback"],
                             "case": last_failure["case"].decode("latin-1")})
    Path(args.result).write_text(json.dumps({"counts": counts, "failures": failures}), encoding="utf-8")
    return 0


# ----------------------------------------------------------------------------- parent side
def _peak_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _save(out: Path, target: str, kind: str, case: bytes, text: str, found: dict) -> None:
    n = found.setdefault(f"{target}-{kind}", 0) + 1
    found[f"{target}-{kind}"] = n
    (out / f"{target}-{kind}-{n}.case").write_bytes(case)
    (out / f"{target}-{kind}-{n}.txt").write_text(text, encoding="utf-8")
    print(f"  FOUND {target} {kind} #{n}: {text.splitlines()[0][:200] if text else ''}", flush=True)


def campaign(args) -> int:
    from wlgeo.model.resources import format_bytes, parse_memory_limit

    limit = parse_memory_limit(args.memory_limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise SystemExit(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    totals = {t: {"cases": 0, "ok": 0, "refused": 0, "crash": 0, "hang": 0, "memory": 0, "peak_rss": 0} for t in targets}
    found: dict[str, int] = {}
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    k = 0
    while time.monotonic() < deadline:
        target = targets[k % len(targets)]
        k += 1
        with tempfile.TemporaryDirectory(prefix="wlgeo-fuzz-") as tmp:
            case_file, result = Path(tmp) / "case", Path(tmp) / "result.json"
            cmd = [sys.executable, __file__, "--worker", target, "--seed", str(rng.randrange(2**32)),
                   "--examples", str(args.chunk), "--case-file", str(case_file), "--result", str(result),
                   "--memory-limit", args.memory_limit]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            last_case, since, peak = b"", time.monotonic(), 0
            while proc.poll() is None:
                time.sleep(0.05)
                peak = max(peak, _peak_rss(proc.pid))
                case = case_file.read_bytes() if case_file.exists() else b""
                if case != last_case:
                    last_case, since = case, time.monotonic()
                if time.monotonic() - since > args.hang_seconds:
                    proc.kill()
                    totals[target]["hang"] += 1
                    _save(out, target, "hang", case, f"no progress for {args.hang_seconds} s on this case", found)
                    break
                if peak > limit:
                    proc.kill()
                    totals[target]["memory"] += 1
                    _save(out, target, "memory", case,
                          f"peak resident memory {format_bytes(peak)} passed the limit {format_bytes(limit)}", found)
                    break
            stderr = proc.communicate()[1] or ""
            totals[target]["peak_rss"] = max(totals[target]["peak_rss"], peak)
            if result.exists():
                data = json.loads(result.read_text(encoding="utf-8"))
                for key in ("ok", "refused"):
                    totals[target][key] += data["counts"][key]
                    totals[target]["cases"] += data["counts"][key]
                for failure in data["failures"]:
                    totals[target]["crash"] += 1
                    totals[target]["cases"] += 1
                    _save(out, target, "crash", failure["case"].encode("latin-1"),
                          failure["error"] + "\n\n" + failure["traceback"], found)
            elif proc.returncode not in (0, -9):
                totals[target]["crash"] += 1
                _save(out, target, "crash", last_case, f"worker died with code {proc.returncode}: {stderr[-3000:]}", found)
        done = sum(t["cases"] for t in totals.values())
        print(f"[{time.strftime('%H:%M:%S')}] {target}: {done} cases so far", flush=True)
    summary = {"minutes": args.minutes, "memory_limit": args.memory_limit, "hang_seconds": args.hang_seconds,
               "targets": {t: {**v, "peak_rss": format_bytes(v["peak_rss"])} for t, v in totals.items()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    bad = sum(v["crash"] + v["hang"] + v["memory"] for v in totals.values())
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--memory-limit", default="2GiB", help="wlgeo's budget and the workers' ceiling (default 2GiB)")
    parser.add_argument("--out", default="fuzz-findings", help="folder for reproducers and summary.json")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, from {', '.join(TARGETS)}")
    parser.add_argument("--chunk", type=int, default=300, help="examples per worker process (default 300)")
    parser.add_argument("--hang-seconds", type=float, default=60.0, help="a case running longer is a hang (60)")
    parser.add_argument("--seed", type=int, default=20261202, help="seed of the chunk seeds")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--case-file", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return worker(args) if args.worker else campaign(args)


if __name__ == "__main__":
    sys.exit(main())
