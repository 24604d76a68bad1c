"""``make bench``: thumbnail speed and upload memory of the file pipeline.

1. A 12-megapixel phone JPEG (4032x3024, EXIF orientation 6, q90) to a 200x140 aspect-fill
   thumbnail: this pipeline (``files.rendering``: draft shrink-on-load, rotate the small
   result) against plain Pillow (rotate first, so a full decode, then ``thumbnail``) and
   against pyvips ``thumbnail_buffer``. Medians of several runs, as ratios in one run.
2. Peak memory (VmHWM) of a gunicorn worker receiving a 200 MB multipart upload to
   ``POST /api/v1/files`` on the embedded shape (SQLite, filesystem storage).
"""

from __future__ import annotations

import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
RUNS = 7


def phone_jpeg() -> bytes:
    from PIL import Image

    noise = Image.effect_noise((4032, 3024), 40)
    image = Image.merge(
        "RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def median_ms(function) -> float:
    function()  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def thumbnail_benchmark() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from PIL import Image, ImageOps

    from files import rendering

    data = phone_jpeg()
    target = rendering.aspect_fill_size(3024, 4032, 200, 140)

    def pipeline():
        return rendering.render_aspect_fill(io.BytesIO(data), 200, 140)

    def pillow_full_decode():
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))  # decodes all 12 MP
        image.thumbnail(target)
        image.save(io.BytesIO(), "JPEG", quality=85)

    results = {
        "pipeline (draft)": median_ms(pipeline),
        "Pillow full decode": median_ms(pillow_full_decode),
    }
    try:
        import logging

        import pyvips

        logging.getLogger("pyvips").setLevel(logging.WARNING)

        def vips():
            thumb = pyvips.Image.thumbnail_buffer(data, target[0], height=target[1], size="down")
            thumb.jpegsave_buffer(Q=85, keep="none")

        results["pyvips thumbnail"] = median_ms(vips)
    except ImportError:
        print("pyvips is not installed (pip install 'pyvips[binary]'): skipped")
    out = pipeline()
    print(
        f"12 MP JPEG ({len(data) / 1e6:.1f} MB, orientation 6) -> 200x140 aspect-fill "
        f"= {out.width}x{out.height}"
    )
    base = results["pipeline (draft)"]
    for name, ms in results.items():
        print(f"  {name:22s} {ms:8.1f} ms   x{ms / base:5.2f} of the pipeline")


class MultipartBody:
    """A 200 MB multipart body produced as it is read, with a known length."""

    def __init__(self, fields: dict[str, str], size: int, boundary: str = "BenchBoundary"):
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        )
        self.head, self.tail = head.encode(), f"\r\n--{boundary}--\r\n".encode()
        self.size, self.position = size, 0
        self.block = os.urandom(1024 * 1024)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.length = len(self.head) + size + len(self.tail)
        self.parts = iter(self.generate())
        self.buffer = b""

    def generate(self):
        yield self.head
        sent = 0
        while sent < self.size:
            chunk = self.block[: min(len(self.block), self.size - sent)]
            sent += len(chunk)
            yield chunk
        yield self.tail

    def __len__(self):
        return self.length

    def read(self, n=-1):
        while n < 0 or len(self.buffer) < n:
            try:
                self.buffer += next(self.parts)
            except StopIteration:
                break
        if n < 0:
            n = len(self.buffer)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def upload_memory_benchmark(size_mb: int = 200) -> None:
    import requests

    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(workdir),
        "PORTAL_ENVIRONMENT": "development",
        "DEBUG": "false",
        "FILES_MAX_UPLOAD_BYTES": str(300 * 1024 * 1024),
        "FILES_MAX_REQUEST_BYTES": str(400 * 1024 * 1024),
        "FILE_UPLOAD_TEMP_DIR": str(workdir),
    }
    for name in ("DATABASE_URL", "S3_BUCKET", "CELERY_BROKER_URL"):
        env.pop(name, None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
    setup = (
        "from tests.factories import AccountFactory, PatientFactory;"
        "from portal.accounts.services import api_key_create;"
        "a = AccountFactory(); p = PatientFactory(account=a);"
        "print(api_key_create(account=a).plaintext, p.id)"
    )
    key, patient_id = subprocess.run(
        [python, "manage.py", "shell", "-c", setup],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-2:]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        worker = int(children[0])
        before = vm_hwm_kib(worker)
        body = MultipartBody({"userId": patient_id}, size_mb * 1024 * 1024)
        started = time.perf_counter()
        response = requests.post(
            f"http://127.0.0.1:{port}/api/v1/files",
            data=body,
            headers={
                "X-API-Key": key,
                "Content-Type": body.content_type,
                "Content-Length": str(len(body)),
            },
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        after = vm_hwm_kib(worker)
        print(
            f"{size_mb} MB multipart upload: HTTP {response.status_code} in {elapsed:.1f} s; "
            f"gunicorn worker peak RSS {before / 1024:.0f} MiB before, "
            f"{after / 1024:.0f} MiB after "
            f"(+{(after - before) / 1024:.0f} MiB)"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    thumbnail_benchmark()
    upload_memory_benchmark()
