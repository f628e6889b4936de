"""Small helpers the benchmarks share: percentiles, the machine's description, a figures table."""

from __future__ import annotations

import os
import platform
import statistics


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def ms(x: float) -> str:
    return f"{x * 1000:.3f} ms"


def summary(samples: list[float]) -> str:
    return f"p50 {ms(pct(samples, 50))}  p99 {ms(pct(samples, 99))}  mean {ms(statistics.fmean(samples))}"
