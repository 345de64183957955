"""Timing helpers the benchmarks share (`bench_ledger`, bench/*.py): samples in milliseconds
and their percentiles, the nearest-rank way."""

import time


def percentile(samples, q: float) -> float:
    """The sample at fraction `q` (0.5 the median, 0.95 the p95) of the sorted samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(fn, repeat: int, warmup: int = 3) -> list[float]:
    """`fn` called `warmup` times untimed, then `repeat` times: each call's milliseconds."""
    for _i in range(warmup):
        fn()
    samples = []
    for _i in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples
