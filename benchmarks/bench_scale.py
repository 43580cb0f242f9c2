"""Benchmark the plan at scale: local engine vs dask with 1 and 2 workers, side by side.

Builds (or reuses) a synthetic city with scripts/make_synthetic_city.py — three districts in
zones 35, 36 and 37, the farmland as GeoParquet parts — and plans it (no siting) with:

- ``local``      the local engine (the farmland read whole into this process);
- ``dask-1``     a LocalCluster of 1 worker process;
- ``dask-2``     a LocalCluster of 2 worker processes;

each in its own subprocess, so peak memory is measured cleanly. It prints, side by side: wall
time, speed-up against ``dask-1``, the client's peak RSS, each worker's peak RSS (sampled every
0.2 s; the client's every 0.1 s), partitions, the most farmland parcels one partition read, and where the time goes (the
engine's steps; for dask also the compute seconds summed over the workers per task kind). A
``read-only`` row gives the peak RSS of just reading the local engine's inputs, the yardstick
of "memory within ~2× the input".

Usage::

    python benchmarks/bench_scale.py --quarries 3000 --parcels 100000 --parts 6
    python benchmarks/bench_scale.py --quarries 30000 --parcels 1000000 --parts 12 \\
        --memory-limit 1.5GiB --configs dask-2        # 3 M parcels on 2 workers × 1.5 GiB

The figures are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(config: str, toml: str, memory_limit: str, partition_size: int | None) -> dict:
    """Run one configuration in this (sub)process; return its figures."""
    import psutil

    import wlgeo

    out: dict = {"config": config}
    own_peak = [0]
    done = threading.Event()

    def own() -> None:  # this process's RSS (ru_maxrss would carry the parent's over fork/exec)
        me = psutil.Process()
        while not done.is_set():
            own_peak[0] = max(own_peak[0], me.memory_info().rss)
            done.wait(0.1)

    watcher = threading.Thread(target=own, daemon=True)
    watcher.start()
    start = time.perf_counter()
    if config == "read-only":
        from wlgeo.io.pack import read_pack

        pack = read_pack(toml)
        out["features"] = {k: len(v) for k, v in pack.layers.items()}
    elif config == "local":
        result = wlgeo.plan(toml, sites=False)
        out.update(counts=result.counts(), timings=result.timings, partitions=result.partitions)
    else:
        import distributed

        from wlgeo.model.resources import parse_memory_limit

        workers = int(config.split("-")[1])
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           memory_limit=parse_memory_limit(memory_limit), dashboard_address=":0")
        client = distributed.Client(cluster)
        peaks: dict[str, int] = {}
        stop = threading.Event()

        def rss() -> int:
            import psutil

            return psutil.Process().memory_info().rss

        def sample() -> None:
            while not stop.is_set():
                try:
                    for worker, value in client.run(rss).items():
                        peaks[worker] = max(peaks.get(worker, 0), value)
                except Exception:  # noqa: BLE001 - a worker restarting
                    pass
                stop.wait(0.2)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            with distributed.get_task_stream(client) as stream:
                result = wlgeo.plan(toml, sites=False, engine="dask", client=client, partition_size=partition_size)
        finally:
            stop.set()
            thread.join()
        compute: dict[str, float] = {}
        for task in stream.data:
            kind = str(task["key"]).split("-")[0].strip("('\"")
            for part in task["startstops"]:
                if part["action"] == "compute":
                    compute[kind] = compute.get(kind, 0.0) + part["stop"] - part["start"]
        out.update(counts=result.counts(), timings=result.timings, partitions=result.partitions,
                   worker_peak_mb=sorted(round(v / 2**20) for v in peaks.values()),
                   worker_compute_s={k: round(v, 2) for k, v in sorted(compute.items())})
        client.close()
        cluster.close()
    out["wall_s"] = round(time.perf_counter() - start, 2)
    done.set()
    watcher.join()
    out["client_peak_mb"] = round(max(own_peak[0], psutil.Process().memory_info().rss) / 2**20)
    return out


def _run(config: str, toml: Path, memory_limit: str, partition_size: int | None) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_scale; "
            f"print('RESULT' + json.dumps(bench_scale._child({config!r}, {str(toml)!r}, {memory_limit!r}, "
            f"{partition_size!r})))")
    wrapper = f"if __name__ == '__main__':\n    {code}\n"
    script = toml.parent / f"_bench_{config}.py"
    script.write_text(wrapper, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            result = json.loads(line[6:])
            break
    else:
        result = {"config": config, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    (toml.parent / f"result_{config}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"  {config}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarries", type=int, default=2000, help="quarries per district")
    parser.add_argument("--parcels", type=int, default=50000, help="farmland parcels per district")
    parser.add_argument("--parts", type=int, default=6)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--data", type=Path, default=Path("out") / "bench_scale")
    parser.add_argument("--memory-limit", default="1.5GiB", help="per dask worker")
    parser.add_argument("--partition-size", type=int, default=None)
    parser.add_argument("--configs", default="read-only,local,dask-1,dask-2")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_synthetic_city import build_city

    folder = args.data / f"q{args.quarries}_p{args.parcels}_s{args.seed}"
    toml = folder / "city.toml"
    if not toml.exists():
        t0 = time.perf_counter()
        build_city(folder, quarries=args.quarries, parcels=args.parcels, seed=args.seed, parts=args.parts,
                   gpkg_farmland=False)
        print(f"built {folder} in {time.perf_counter() - t0:.1f} s")
    size = sum(p.stat().st_size for p in (folder / "farmland").glob("*.parquet"))
    print(f"city: 3 districts × {args.quarries} quarries, 3 × {args.parcels} farmland parcels "
          f"({size / 2**20:.0f} MiB GeoParquet in {args.parts} parts); dask workers limited to {args.memory_limit}")
    rows = [_run(c.strip(), toml, args.memory_limit, args.partition_size) for c in args.configs.split(",") if c.strip()]
    base = next((r["wall_s"] for r in rows if r.get("config") == "dask-1" and "wall_s" in r), None)
    print(f"\n{'config':<10}{'wall s':>9}{'vs dask-1':>11}{'client MB':>11}  {'worker peak MB':<18}"
          f"{'partitions':>11}{'max farmland/partition':>24}")
    for r in rows:
        if "error" in r:
            print(f"{r['config']:<10} failed: {r['error']}")
            continue
        speed = f"{base / r['wall_s']:.2f}×" if base and r["config"] != "read-only" else ""
        parts = r.get("partitions", {})
        print(f"{r['config']:<10}{r['wall_s']:>9.1f}{speed:>11}{r['client_peak_mb']:>11}  "
              f"{str(r.get('worker_peak_mb', '')):<18}{parts.get('count', ''):>11}"
              f"{parts.get('largest_read', {}).get('farmland', ''):>24}")
    print("\nwhere the time goes (s):")
    for r in rows:
        if "timings" in r:
            steps = {k: v for k, v in r["timings"].items() if k.startswith("engine.") or k in ("read", "cluster", "normalise")}
            print(f"  {r['config']:<8} " + ", ".join(f"{k.replace('engine.', '')} {v:.1f}" for k, v in steps.items()))
            if "worker_compute_s" in r:
                print(f"  {'':<8} compute on workers: " + ", ".join(f"{k} {v}" for k, v in r["worker_compute_s"].items()))
    counts = {json.dumps(r.get("counts"), sort_keys=True) for r in rows if "counts" in r}
    print(f"\nsame decision counts in every engine: {len(counts) == 1} {next(iter(counts), '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
