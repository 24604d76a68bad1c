"""A bounded HTTP load client: a fixed number of GETs from a fixed number of keep-alive
connections, each in its own thread, with every latency kept.

Small and standard-library only (``http.client``), so its cost is the same for every target
it is pointed at: it runs on the same two cores as the server, which is why serving figures
are ratios of two targets measured by it in the same run. Bounded in requests, connections and
time; it only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)  # seconds, sorted
    statuses: Counter
    wrong_bodies: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        index = min(len(self.latencies) - 1, max(0, round(fraction * len(self.latencies)) - 1))
        return self.latencies[index] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000


def run_load(
    port: int,
    path: str,
    *,
    headers: dict[str, str],
    total: int,
    concurrency: int,
    expected_body: bytes,
    timeout: float = 30,
) -> LoadResult:
    """``total`` GETs of ``path`` on 127.0.0.1:``port`` from ``concurrency`` connections."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: Counter = Counter()
    wrong = 0
    start = threading.Barrier(concurrency + 1)

    def take() -> bool:
        nonlocal issued
        with lock:
            if issued >= total:
                return False
            issued += 1
            return True

    def worker() -> None:
        nonlocal wrong
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine: list[float] = []
        start.wait()
        try:
            while take():
                began = time.perf_counter()
                try:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()  # reconnects on the next request
                    with lock:
                        statuses["connection error"] += 1
                    continue
                mine.append(time.perf_counter() - began)
                with lock:
                    statuses[response.status] += 1
                    wrong += body != expected_body
                if response.will_close:
                    connection.close()
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=total * timeout)
    seconds = time.perf_counter() - began
    latencies.sort()
    return LoadResult(len(latencies), seconds, latencies, statuses, wrong)
