"""Ingest: peak memory of the web process while a large upload comes in through
``POST /api/v1/files``. Goals: multipart memory independent of the file's size, no more than
64 MB over idle; a file sent as Base64 JSON no more than 3 times its size over idle.

One gunicorn sync worker (one request at a time, so its memory is that request's) on the
stack. Before each measured upload: the worker's RSS (idle), then its VmHWM is reset; after:
its VmHWM (peak). Multipart is measured at two sizes to show the growth does not follow the
size. Each door is warmed first with a small upload, so imports made on first use are part of
idle, not of the upload. The bodies are random bytes declared as a PDF (processing would
reject them; no worker runs here, only the web process is measured), and the multipart body is
generated as it is sent, so the client never holds 200 MB either.
"""

from __future__ import annotations

import base64
import json
import os
import time

import requests

from benchmarks import proc
from benchmarks.report import Goal, Section, table
from benchmarks.stack import Stack

TITLE = "Ingest: peak memory of the web process"
MiB = 1024 * 1024
MULTIPART_SIZES_MB = (50, 200)
BASE64_MB = 20
MULTIPART_GOAL_MIB = 64
BASE64_GOAL_FACTOR = 3


class MultipartBody:
    """A multipart body with ``size`` bytes of file, produced as it is read, of known length."""

    def __init__(self, fields: dict[str, str], size: int, boundary: str = "BenchBoundary"):
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        )
        head += (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        )
        self.head, self.tail = head.encode(), f"\r\n--{boundary}--\r\n".encode()
        self.size = size
        self.block = os.urandom(MiB)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.length = len(self.head) + size + len(self.tail)
        self.parts = iter(self._generate())
        self.buffer = b""

    def _generate(self):
        yield self.head
        sent = 0
        while sent < self.size:
            chunk = self.block[: min(len(self.block), self.size - sent)]
            sent += len(chunk)
            yield chunk
        yield self.tail

    def __len__(self) -> int:
        return self.length

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            try:
                self.buffer += next(self.parts)
            except StopIteration:
                break
        if n < 0:
            n = len(self.buffer)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def base64_document(patient_id: str, size: int) -> bytes:
    contents = base64.b64encode(os.urandom(size)).decode()
    return json.dumps(
        {
            "files": [{"name": "big.pdf", "type": "application/pdf", "contents": contents}],
            "userId": patient_id,
        }
    ).encode()


def measure(stack: Stack) -> dict:
    seed = stack.seed("account")
    headers = {"X-API-Key": seed["api_key"]}
    limits = {
        "FILES_MAX_UPLOAD_BYTES": str(300 * MiB),
        "FILES_MAX_REQUEST_BYTES": str(400 * MiB),
    }
    measurements: dict[str, dict] = {}
    with stack.gunicorn(workers=1, threads=1, **limits) as server:
        [worker] = server.children()
        url = f"{server.url}/api/v1/files"

        def post_multipart(size: int) -> requests.Response:
            body = MultipartBody({"userId": seed["patient_id"]}, size)
            return requests.post(
                url,
                data=body,
                headers={
                    **headers,
                    "Content-Type": body.content_type,
                    "Content-Length": str(len(body)),
                },
                timeout=600,
            )

        def post_base64(size: int) -> requests.Response:
            return requests.post(
                url,
                data=base64_document(seed["patient_id"], size),
                headers={**headers, "Content-Type": "application/json"},
                timeout=600,
            )

        def measured(label: str, payload: int, send) -> None:
            idle = proc.rss_mib(worker)
            proc.reset_peak_rss(worker)
            started = time.perf_counter()
            response = send(payload)
            measurements[label] = {
                "status": response.status_code,
                "seconds": time.perf_counter() - started,
                "idle_mib": idle,
                "peak_mib": proc.peak_rss_mib(worker),
                "payload_mib": payload / MiB,
                "stored_bytes": response.json()[0]["size"] if response.status_code == 201 else 0,
                "answer": "" if response.ok else response.text[:200],
            }

        for send in (post_multipart, post_base64):  # imports and buffers made on first use
            send(MiB).raise_for_status()
        for size_mb in MULTIPART_SIZES_MB:
            measured(f"multipart_{size_mb}", size_mb * MiB, post_multipart)
        measured(f"base64_{BASE64_MB}", BASE64_MB * MiB, post_base64)
    return {"status": "measured", "measurements": measurements}


def _over(found: dict) -> float:
    return found["peak_mib"] - found["idle_mib"]


def goals(data: dict) -> list[Goal]:
    found = data["measurements"]
    multipart = [found[f"multipart_{size}"] for size in MULTIPART_SIZES_MB]
    overs = [_over(item) for item in multipart]
    all_created = all(item["status"] == 201 for item in multipart)
    spread = max(overs) - min(overs)
    multipart_goal = Goal(
        "ingest",
        f"multipart: <= {MULTIPART_GOAL_MIB} MB over idle, independent of size",
        all_created and max(overs) <= MULTIPART_GOAL_MIB,
        ", ".join(
            f"{size} MB: +{over:.0f} MiB (HTTP {item['status']})"
            for size, over, item in zip(MULTIPART_SIZES_MB, overs, multipart, strict=True)
        )
        + f"; {spread:.0f} MiB apart",
    )
    item = found[f"base64_{BASE64_MB}"]
    factor = _over(item) / item["payload_mib"]
    base64_goal = Goal(
        "ingest",
        f"Base64 JSON: <= {BASE64_GOAL_FACTOR}x the payload over idle",
        item["status"] == 201 and factor <= BASE64_GOAL_FACTOR,
        f"{BASE64_MB} MB file: +{_over(item):.0f} MiB = {factor:.2f}x (HTTP {item['status']})",
    )
    return [multipart_goal, base64_goal]


def markdown(data: dict) -> list[str]:
    labels = {f"multipart_{size}": f"{size} MB file, multipart" for size in MULTIPART_SIZES_MB}
    labels[f"base64_{BASE64_MB}"] = f"{BASE64_MB} MB file as Base64 JSON"
    rows = []
    for key, label in labels.items():
        found = data["measurements"][key]
        rows.append(
            [
                label,
                f"{found['status']}, {found['stored_bytes']:,} bytes stored",
                f"{found['seconds']:.1f}",
                f"{found['idle_mib']:.0f}",
                f"{found['peak_mib']:.0f}",
                f"{_over(found):.0f}",
                f"{_over(found) / found['payload_mib']:.2f}x",
            ]
        )
    lines = [
        "",
        f"## {TITLE}",
        "",
        "One gunicorn sync worker on the stack (PostgreSQL, filesystem storage), "
        "`POST /api/v1/files` with an API key, upload limits raised to let a 200 MB file in. "
        "Idle: the worker's RSS just before the upload (after a 1 MB warm-up upload through "
        "each door); peak: its VmHWM, reset just before the upload. Random bytes declared as "
        "a PDF.",
        "",
        *table(
            [
                "upload",
                "HTTP",
                "time s",
                "idle MiB",
                "peak MiB",
                "over idle MiB",
                "over idle / payload",
            ],
            rows,
        ),
        "",
        "Multipart parts are spooled to disk by Django past 2 MB and copied to storage in "
        "256 KB chunks. The Base64 door (`files/parsers.py`) reads the body as it arrives; "
        "what remains is the file's Base64 text held twice while it is parsed (yajl's token "
        "buffer and the Python string made from it: 2 x 4/3 = 2.67x the file), decoded in "
        "slices to a temporary file.",
    ]
    for key, found in data["measurements"].items():
        if found.get("answer"):
            lines.append(f"\n`{key}` was answered HTTP {found['status']}: `{found['answer']}`")
    return lines


def run(stack: Stack) -> Section:
    data = measure(stack)
    return Section("ingest", data, markdown(data), goals(data))
