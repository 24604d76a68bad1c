"""`make bench`: the portal against what a Django developer would otherwise pick (issue 9).

Writes benchmarks/results.md: medians, peak memory and ratios, all measured in this one run on
this machine, with the machine's description.

Each measurement runs in a fresh Python process (`run.py --child CONTENDER FIXTURE`): the
process imports its libraries and warms its code path on a small image of the same kind, then
times one cold thumbnail of the 12-megapixel fixture (nothing cached) and reports wall time,
CPU time and its peak RSS (getrusage ru_maxrss) before and after. Several processes per
cell; the table shows medians.

Sections for the benchmarks that need the whole pipeline (serving, ingest, processing) are
stubs that report "not yet measured": nothing is faked.

Usage:
    python benchmarks/run.py [--repeats N] [--output PATH]
    python benchmarks/run.py --profile CONTENDER FIXTURE    # pyinstrument of one render
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

FIXTURE_DIR = BENCH_DIR / ".fixtures"
FIXTURE_VERSION = "v3"  # bump when the generator changes, so cached fixtures are remade
REQUEST = (200, 140)
JPEG_QUALITY = 85
DEFAULT_REPEATS = 7  # fresh processes per cell
RENDERS_PER_PROCESS = 3  # timed thumbnails per process (median), each from the bytes again

FIXTURES = {
    "jpeg": "12 MP JPEG (4032x3024, q90)",
    "jpeg_o6": "12 MP JPEG, EXIF orientation 6",
    "heic": "12 MP HEIC (4032x3024) with 320x240 embedded thumbnail",
    "jpeg_grainy": "stress: 12 MP JPEG with heavy grain",
}
GOAL_FIXTURES = ("jpeg", "jpeg_o6", "heic")
JPEG_FIXTURES = ("jpeg", "jpeg_o6", "jpeg_grainy")
# Luma grain (Gaussian sigma) on top of blobs, gradients and edges. 2 gives ~3 MB at q90, the
# usual size of a 12 MP phone JPEG; 6 gives ~4.6 MB, a noisy low-light shot, where entropy
# decoding (which no shrink-on-load can skip) is a larger share of any decoder's time.
GRAIN = 2
HEAVY_GRAIN = 6


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int = 9, grain: float = 6):
    """Noise, gradients and hard edges: compresses like a photo, not like flat colour."""
    from PIL import Image, ImageChops, ImageDraw

    rng = random.Random(seed)
    channels = []
    for index in range(3):
        blobs = Image.effect_noise((max(1, width // 32), max(1, height // 32)), 70)
        blobs = blobs.resize((width, height), Image.Resampling.BICUBIC)
        gradient = Image.linear_gradient("L").rotate(index * 120).resize((width, height))
        channels.append(ImageChops.blend(blobs, gradient, 0.4))
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    scale = max(width, height) / 4032
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = max(2, int(rng.randrange(10, 300) * scale))
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            outline=colour,
            width=max(1, int(rng.randrange(1, 8) * scale)),
        )
    if not grain:
        return image
    noise = Image.effect_noise((width, height), grain).convert("RGB")
    return ImageChops.add(image, noise, 1.0, -128)


def _exif(orientation: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "BenchCam"
    return exif.tobytes()


def _write_fixture_set(directory: Path, width: int, height: int) -> None:
    """The fixtures at one size; run in its own process (HEIC encoding peaks at ~400 MB)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    from PIL import ImageCms

    # Phone photos carry a colour profile (Display P3 on iPhones): so do these, so every
    # contender pays for what it does with it. ImageCms can only make sRGB; same cost class.
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grainy = photo_like(width, height, grain=HEAVY_GRAIN)
    grainy.save(directory / "jpeg_grainy.jpg", "JPEG", quality=90, exif=_exif(1), icc_profile=icc)
    image = photo_like(width, height, grain=GRAIN)
    image.save(directory / "jpeg.jpg", "JPEG", quality=90, exif=_exif(1), icc_profile=icc)
    image.save(directory / "jpeg_o6.jpg", "JPEG", quality=90, exif=_exif(6), icc_profile=icc)
    thumbnails = [320] if max(width, height) > 320 else []
    image.save(directory / "heic.heic", "HEIF", quality=80, thumbnails=thumbnails, icc_profile=icc)


def ensure_fixtures() -> Path:
    """12 MP fixtures and small warm-up twins, made once and cached (HEIC encoding is slow)."""
    directory = FIXTURE_DIR / FIXTURE_VERSION
    big, warm = directory / "big", directory / "warm"
    if (big / "heic.heic").exists() and (warm / "heic.heic").exists():
        return directory
    for path in (big, warm):
        path.mkdir(parents=True, exist_ok=True)
    print("Making fixtures (12 MP JPEGs and HEIC; HEIC encoding takes ~20 s)...", flush=True)
    for path, width, height in ((warm, 640, 480), (big, 4032, 3024)):
        command = [sys.executable, str(Path(__file__).resolve()), "--make-fixtures"]
        subprocess.run(
            [*command, str(path), str(width), str(height)],
            check=True,
            cwd=REPO_DIR,
        )
    return directory


def fixture_path(name: str, *, warm: bool = False) -> Path:
    suffix = ".heic" if name == "heic" else ".jpg"
    return FIXTURE_DIR / FIXTURE_VERSION / ("warm" if warm else "big") / f"{name}{suffix}"


# --------------------------------------------------------------------------------------
# Contenders: each maps (image bytes) -> thumbnail bytes, JPEG q85, for 200x140 aspect-fill.
# `prepare()` does imports and configuration (not timed).
# --------------------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    label: str
    prepare: Callable[[], Callable[[bytes], bytes]]
    fixtures: tuple[str, ...] = ("jpeg", "jpeg_o6", "heic", "jpeg_grainy")
    note: str = ""
    unsupported: dict[str, str] = field(default_factory=dict)


def _prepare_portal():
    from files.rendering import render_aspect_fill

    def run(data: bytes) -> bytes:
        return render_aspect_fill(io.BytesIO(data), *REQUEST, quality=JPEG_QUALITY).content

    return run


def _django_for_peers() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="bench",
            INSTALLED_APPS=["sorl.thumbnail", "easy_thumbnails"],
            DATABASES={},
            STORAGES={"default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}},
            THUMBNAIL_DEBUG=True,
        )
        django.setup()


def _prepare_sorl():
    import pillow_heif

    pillow_heif.register_heif_opener()
    _django_for_peers()
    from django.core.files.base import ContentFile
    from django.core.files.storage import InMemoryStorage
    from sorl.thumbnail.base import EXTENSIONS
    from sorl.thumbnail.engines.pil_engine import Engine
    from sorl.thumbnail.helpers import tokey
    from sorl.thumbnail.images import ImageFile
    from sorl.thumbnail.parsers import parse_geometry

    storage = InMemoryStorage()
    engine = Engine()
    # sorl's defaults (conf/defaults.py) with its aspect-fill mode: crop to fill the box.
    options = {
        "format": "JPEG",
        "quality": JPEG_QUALITY,
        "colorspace": "RGB",
        "upscale": False,
        "crop": "center",
        "cropbox": None,
        "rounded": None,
        "blur": None,
        "padding": False,
        "padding_color": "#ffffff",
        "orientation": True,
        "progressive": True,
        "image_info": {},
    }

    def run(data: bytes) -> bytes:
        # What sorl's ThumbnailBackend._create_thumbnail does, minus the key-value store.
        name = f"src/{tokey(str(len(data)), str(time.perf_counter_ns()))}.jpg"
        storage.save(name, ContentFile(data))
        source = ImageFile(name, storage)
        source_image = engine.get_image(source)
        source.set_size(engine.get_image_size(source_image))
        ratio = engine.get_image_ratio(source_image, options)
        geometry = parse_geometry(f"{REQUEST[0]}x{REQUEST[1]}", ratio)
        image = engine.create(source_image, geometry, options)
        thumbnail = ImageFile(f"cache/{name}.{EXTENSIONS['JPEG']}", storage)
        engine.write(image, options, thumbnail)
        return thumbnail.read()

    return run


def _prepare_easy_thumbnails():
    import pillow_heif

    pillow_heif.register_heif_opener()
    _django_for_peers()
    from django.core.files.base import ContentFile
    from easy_thumbnails.files import Thumbnailer

    # crop="scale": scale so the box is filled, no crop (easy-thumbnails' aspect-fill).
    options = {"size": REQUEST, "crop": "scale", "quality": JPEG_QUALITY}

    def run(data: bytes) -> bytes:
        thumbnailer = Thumbnailer(file=ContentFile(data), name="photo.jpg")
        thumbnail = thumbnailer.generate_thumbnail(options)
        return thumbnail.read()

    return run


def _prepare_plain_pillow():
    import pillow_heif
    from PIL import Image, ImageOps

    from files.rendering import aspect_fill_size

    pillow_heif.register_heif_opener()

    def run(data: bytes) -> bytes:
        image = Image.open(io.BytesIO(data))
        image.load()
        image = ImageOps.exif_transpose(image)
        size = aspect_fill_size(*image.size, *REQUEST)
        image = image.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()

    return run


def _prepare_pyvips():
    import pyvips

    def run(data: bytes) -> bytes:
        image = pyvips.Image.thumbnail_buffer(
            data, REQUEST[0], height=REQUEST[1], crop="centre", size="down"
        )
        return image.write_to_buffer(".jpg", Q=JPEG_QUALITY, keep="none")

    return run


def _prepare_floor():
    from PIL import Image

    from files.rendering import DRAFT_FACTOR, aspect_fill_size

    def run(data: bytes) -> bytes:
        # The same reduced DCT decode the renderer asks for, and nothing else.
        image = Image.open(io.BytesIO(data))
        orientation = image.getexif().get(0x0112, 1)
        swapped = orientation in (5, 6, 7, 8)
        stored_w, stored_h = image.size
        upright = (stored_h, stored_w) if swapped else (stored_w, stored_h)
        target_w, target_h = aspect_fill_size(*upright, *REQUEST)
        stored_target = (target_h, target_w) if swapped else (target_w, target_h)
        image.draft("RGB", (stored_target[0] * DRAFT_FACTOR, stored_target[1] * DRAFT_FACTOR))
        image.load()
        return image.tobytes()[:0]

    return run


def _prepare_heic_thumbnail_floor():
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()

    def run(data: bytes) -> bytes:
        image = Image.open(io.BytesIO(data))
        image.draft(None, (200, 150))
        image.load()
        return image.tobytes()[:0]

    return run


CONTENDERS = {
    contender.name: contender
    for contender in (
        Contender(
            "portal",
            "**portal `render_aspect_fill`**",
            _prepare_portal,
            note="draft 2x target (JPEG) / embedded thumbnail (HEIC), LANCZOS, 200x150",
        ),
        Contender(
            "sorl",
            "sorl-thumbnail (PIL engine)",
            _prepare_sorl,
            note="`crop='center'` (sorl's fill mode, 200x140), storage read + write in memory",
        ),
        Contender(
            "easy",
            "easy-thumbnails",
            _prepare_easy_thumbnails,
            note="`Thumbnailer.generate_thumbnail`, `crop='scale'` (fill, no crop)",
        ),
        Contender(
            "pillow",
            "Pillow full decode",
            _prepare_plain_pillow,
            note="`load()` + `exif_transpose` + `resize(LANCZOS)` + save",
        ),
        Contender(
            "pyvips",
            "pyvips `thumbnail_buffer`",
            _prepare_pyvips,
            note="`crop='centre', size='down'` (200x140), libvips shrink-on-load",
            unsupported={"heic": "the pyvips-binary libvips has no HEVC decoder"},
        ),
        Contender(
            "floor",
            "floor: reduced DCT decode only",
            _prepare_floor,
            fixtures=JPEG_FIXTURES,
            note="`draft` as the renderer asks + `load()`, no resize, no encode",
        ),
        Contender(
            "heic_floor",
            "floor: HEIC embedded thumbnail decode only",
            _prepare_heic_thumbnail_floor,
            fixtures=("heic",),
            note="pillow-heif `draft` + `load()`",
        ),
    )
}


# --------------------------------------------------------------------------------------
# Child process: one cold measurement
# --------------------------------------------------------------------------------------


def _proc_status_mib(field_name: str) -> float | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024  # kB
    return None


def _rss_now_mib() -> float:
    current = _proc_status_mib("VmRSS")
    return current if current is not None else _peak_rss_mib()


def _peak_rss_mib() -> float:
    """Peak RSS of this process image. VmHWM, because ru_maxrss survives fork+exec and would
    report the parent's peak; getrusage where /proc is missing."""
    peak = _proc_status_mib("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(contender_name: str, fixture: str) -> dict:
    run = CONTENDERS[contender_name].prepare()
    run(fixture_path(fixture, warm=True).read_bytes())  # imports, plugin and library set-up
    data = fixture_path(fixture).read_bytes()
    process_peak = _peak_rss_mib()  # imports + warm-up + the input bytes
    rss_before = _rss_now_mib()
    _reset_peak_rss()
    walls, cpus = [], []
    for _ in range(RENDERS_PER_PROCESS):
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        output = run(data)
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu_seconds() - cpu_before)
    thumbnail_peak = _peak_rss_mib()
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "cpu_ms": statistics.median(cpus) * 1000,
        "peak_rss_mib": max(process_peak, thumbnail_peak),
        "peak_rss_delta_mib": max(0.0, thumbnail_peak - rss_before),
        "output_bytes": len(output),
    }


def measure_once(contender_name: str, fixture: str) -> dict:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", contender_name, fixture],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": (completed.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def summarise(samples: list[dict]) -> dict:
    errors = [sample["error"] for sample in samples if "error" in sample]
    if errors:
        return {"error": errors[0]}
    result = {
        key: statistics.median(sample[key] for sample in samples)
        for key in ("wall_ms", "cpu_ms", "peak_rss_mib", "peak_rss_delta_mib", "output_bytes")
    }
    result["min_ms"] = min(sample["wall_ms"] for sample in samples)
    result["max_ms"] = max(sample["wall_ms"] for sample in samples)
    result["repeats"] = len(samples)
    return result


# --------------------------------------------------------------------------------------
# Benchmarks that need the whole pipeline: hooks, not yet measured
# --------------------------------------------------------------------------------------


def bench_serving() -> dict:
    """Cached thumbnail through `GET /api/v1/files/{id}?imageSize=200x140` under gunicorn,
    req/s and p99, against a bare Django view returning the same bytes from the same storage.
    Goal: >= 70% of the bare view. Needs the files API (issue 3)."""
    return {"status": "not yet measured", "why": "needs the files download API (issue 3)"}


class MultipartBody:
    """A multipart body of `size` bytes of file, produced as it is read, with a known length.
    (From the files-pipeline helper's first benchmark.)"""

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
        self.block = os.urandom(1024 * 1024)
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


def _process_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def bench_ingest(multipart_mb: int = 200, base64_mb: int = 20) -> dict:
    """Peak RSS of the one gunicorn worker (embedded shape: SQLite, filesystem storage) during
    a 200 MB multipart upload and a 20 MB file sent as Base64 JSON to `POST /api/v1/files`.
    Goals: multipart <= 64 MB over idle whatever the size; Base64 <= 3x the payload."""
    import base64
    import shutil
    import socket
    import tempfile

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
    for name in ("DATABASE_URL", "S3_BUCKET", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    python = sys.executable
    gunicorn = [python, "-m", "gunicorn", "portal.wsgi", "-w", "1", "--timeout", "300"]
    server = None
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO_DIR, env=env, check=True)
        setup = (
            "from tests.factories import AccountFactory, PatientFactory;"
            "from portal.accounts.services import api_key_create;"
            "a = AccountFactory(); p = PatientFactory(account=a);"
            "print(api_key_create(account=a).plaintext, p.id)"
        )
        key, patient_id = subprocess.run(
            [python, "manage.py", "shell", "-c", setup],
            cwd=REPO_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-2:]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [*gunicorn, "-b", f"127.0.0.1:{port}"],
            cwd=REPO_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base_url}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        worker = int(children[0])
        measurements = {}

        def measure_request(label: str, payload_bytes: int, **request) -> None:
            idle_kib = _process_kib(worker, "VmRSS")
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the worker's VmHWM
            started = time.perf_counter()
            response = requests.post(
                f"{base_url}/api/v1/files",
                headers={"X-API-Key": key, **request.pop("headers", {})},
                timeout=600,
                **request,
            )
            measurements[label] = {
                "status": response.status_code,
                "seconds": time.perf_counter() - started,
                "idle_mib": idle_kib / 1024,
                "peak_mib": _process_kib(worker, "VmHWM") / 1024,
                "payload_mib": payload_bytes / 1024 / 1024,
                "answer": "" if response.ok else response.text[:200],
            }

        body = MultipartBody({"userId": patient_id}, multipart_mb * 1024 * 1024)
        measure_request(
            "multipart",
            multipart_mb * 1024 * 1024,
            data=body,
            headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
        )
        contents = base64.b64encode(os.urandom(base64_mb * 1024 * 1024)).decode()
        document = json.dumps(
            {
                "files": [{"name": "big.pdf", "type": "application/pdf", "contents": contents}],
                "userId": patient_id,
            }
        ).encode()
        del contents
        measure_request(
            "base64",
            base64_mb * 1024 * 1024,
            data=document,
            headers={"Content-Type": "application/json"},
        )
        return {"status": "measured", "measurements": measurements}
    except Exception as error:  # report why, never a number we did not measure
        return {"status": "not measured", "why": f"{type(error).__name__}: {error}"}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


def bench_processing() -> dict:
    """Photos processed per second per Celery worker, 1 vs 2 workers. Needs the processing task
    (issue 3); will call files.rendering for the thumbnail facet."""
    return {"status": "not yet measured", "why": "needs the processing task (issue 3)"}


PIPELINE_BENCHMARKS = {
    "Serving: cached thumbnail via the API vs bare view (goal >= 70%)": bench_serving,
    "Processing: photos/s per worker, 1 vs 2 workers": bench_processing,
}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> list[tuple[str, str]]:
    from PIL import Image, features

    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    try:
        import pillow_heif

        heif = f"pillow-heif {pillow_heif.__version__}, libheif {pillow_heif.libheif_version()}"
    except ImportError:
        heif = "not installed"
    try:
        import pyvips

        vips = (
            f"pyvips {_version('pyvips')}, libvips "
            f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} "
            f"(pyvips-binary {_version('pyvips-binary')})"
        )
    except (ImportError, OSError):
        vips = "not installed"
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores"),
        ("RAM", memory),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Pillow", f"{Image.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}"),
        ("HEIF", heif),
        ("libvips", vips),
        (
            "Peers",
            f"sorl-thumbnail {_version('sorl-thumbnail')}, "
            f"easy-thumbnails {_version('easy-thumbnails')}, Django {_version('Django')}",
        ),
    ]


def _load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("**met**" if met else "**not met**")


def _cell(result: dict | None) -> str:
    if result is None:
        return "-"
    if "error" in result:
        return f"n/a ({result['error']})"
    return f"{result['wall_ms']:.0f}"


@dataclass
class Goal:
    text: str
    met_wall: bool | None
    met_cpu: bool | None
    detail: str


def evaluate_goals(results: dict) -> list[Goal]:
    """Each goal compares the portal with another cell: on wall-time medians (the goal as
    written) and on CPU-time medians (steadier when other work shares the cores)."""

    def cell(contender: str, fixture: str) -> dict | None:
        found = results.get(contender, {}).get(fixture)
        return None if not found or "error" in found else found

    def compare(text, portal_cell, other_cell, other_label, limit, *, portal_slower_ok):
        """`portal_slower_ok`: goal is portal <= limit x other; else other >= limit x portal."""
        if not portal_cell or not other_cell:
            return None
        verdicts = []
        for key in ("wall_ms", "cpu_ms"):
            mine, theirs = portal_cell[key], other_cell[key]
            verdicts.append(mine <= limit * theirs if portal_slower_ok else theirs >= limit * mine)
        wall_ratio = other_cell["wall_ms"] / portal_cell["wall_ms"]
        cpu_ratio = other_cell["cpu_ms"] / portal_cell["cpu_ms"]
        detail = (
            f"{other_label} / portal: wall {wall_ratio:.2f}x "
            f"({other_cell['wall_ms']:.0f} / {portal_cell['wall_ms']:.0f} ms), "
            f"CPU {cpu_ratio:.2f}x ({other_cell['cpu_ms']:.0f} / {portal_cell['cpu_ms']:.0f} ms)"
        )
        return Goal(text, verdicts[0], verdicts[1], detail)

    goals = []
    for fixture in (*GOAL_FIXTURES, "jpeg_grainy"):
        portal = cell("portal", fixture)
        for peer, label in (("sorl", "sorl-thumbnail"), ("easy", "easy-thumbnails")):
            goals.append(
                compare(
                    f"{FIXTURES[fixture]}: >= 5x faster than {label}",
                    portal,
                    cell(peer, fixture),
                    label,
                    5,
                    portal_slower_ok=False,
                )
            )
    for fixture in JPEG_FIXTURES:
        portal = cell("portal", fixture)
        goals.append(
            compare(
                f"{FIXTURES[fixture]}: no slower than pyvips",
                portal,
                cell("pyvips", fixture),
                "pyvips",
                1.0,
                portal_slower_ok=True,
            )
        )
        goals.append(
            compare(
                f"{FIXTURES[fixture]}: within 1.2x of the floor",
                portal,
                cell("floor", fixture),
                "floor",
                1.2,
                portal_slower_ok=True,
            )
        )
    goals.append(
        compare(
            "HEIC thumbnail no slower than the JPEG one",
            cell("portal", "heic"),
            cell("portal", "jpeg"),
            "portal JPEG",
            1.0,
            portal_slower_ok=True,
        )
    )
    return [goal for goal in goals if goal is not None]


def _ingest_section(ingest: dict) -> list[str]:
    lines = [
        "",
        "## Ingest: peak memory of the web process",
        "",
        "One sync gunicorn worker, embedded shape (SQLite, filesystem storage), `POST "
        "/api/v1/files` with an API key. Idle = the worker's RSS just before the request; peak = "
        "its VmHWM, reset just before the request. Random bytes declared as a PDF.",
        "",
    ]
    if ingest.get("status") != "measured":
        return [*lines, f"Not measured: {ingest.get('why', 'unknown')}"]
    lines += [
        "| upload | HTTP | time s | idle MiB | peak MiB | over idle MiB | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    goals = {
        "multipart": ("200 MB multipart", "<= 64 MB over idle", lambda over, payload: over <= 64),
        "base64": (
            "20 MB file as Base64 JSON",
            "<= 3x the payload over idle",
            lambda over, payload: over <= 3 * payload,
        ),
    }
    for key, (label, goal, check) in goals.items():
        found = ingest["measurements"].get(key)
        if not found:
            continue
        over = found["peak_mib"] - found["idle_mib"]
        met = check(over, found["payload_mib"]) and 200 <= found["status"] < 300
        lines.append(
            f"| {label} | {found['status']} | {found['seconds']:.1f} | {found['idle_mib']:.0f} | "
            f"{found['peak_mib']:.0f} | {over:.0f} | {goal} | {_verdict(met)} |"
        )
    for key, found in ingest["measurements"].items():
        if found.get("answer"):
            lines.append(f"\n`{key}` was answered HTTP {found['status']}: `{found['answer']}`")
    return lines


def render_report(
    results: dict, repeats: int, started: float, load_start: str, ingest: dict
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`benchmarks/run.py`) on {time.strftime('%Y-%m-%d %H:%M %Z')}"
        f", in {time.time() - started:.0f} s. All figures from this one run on this machine.",
        "",
        f"Load average at start / end: {load_start} / {_load_average()} (other processes "
        "on these cores make wall times noisy; CPU times are the steadier comparison).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine_description()],
        "",
        "## Thumbnails: 12 MP photo to 200x140 aspect-fill, cold",
        "",
        f"Each cell: median over {repeats} fresh processes, run round-robin across contenders; "
        "each process imports its library, warms its code path on a 640x480 image of the same "
        f"kind, then makes {RENDERS_PER_PROCESS} thumbnails of the 12 MP fixture (median), each "
        "from the bytes in memory to encoded JPEG q85 bytes, nothing cached between them: a "
        "warm server process meeting an uncached thumbnail. Fixtures are generated (noise, "
        "gradients and edges; JPEG q90; with an sRGB ICC profile as phone photos carry one). "
        "The floor decodes the JPEG at the reduced DCT scale the renderer asks for "
        "(1/8 for the upright photo, 1/4 for orientation 6, whose fill size is portrait) and "
        "does nothing else.",
        "",
        "### Wall time (ms, median) and speed-up of the portal",
        "",
        "| contender | " + " | ".join(FIXTURES[f] for f in FIXTURES) + " | how |",
        "|---|" + "---|" * len(FIXTURES) + "---|",
    ]
    for name, contender in CONTENDERS.items():
        cells = []
        for fixture in FIXTURES:
            result = results.get(name, {}).get(fixture)
            cell = _cell(result)
            portal = results.get("portal", {}).get(fixture)
            if (
                result
                and "error" not in result
                and portal
                and "error" not in portal
                and name != "portal"
            ):
                cell += f" ({result['wall_ms'] / portal['wall_ms']:.2f}x portal)"
            cells.append(cell)
        lines.append(f"| {contender.label} | " + " | ".join(cells) + f" | {contender.note} |")
    lines += [
        "",
        "`(N x portal)`: the contender's time divided by the portal's; above 1 means the portal "
        "is faster.",
        "",
        "### Detail: CPU time, memory, spread",
        "",
        "| contender | fixture | wall median (min-max) ms | CPU ms | peak RSS MiB | "
        "peak RSS added by the thumbnail MiB | output bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, contender in CONTENDERS.items():
        for fixture in FIXTURES:
            result = results.get(name, {}).get(fixture)
            if result is None:
                continue
            if "error" in result:
                lines.append(f"| {contender.label} | {fixture} | {_cell(result)} | | | | |")
                continue
            lines.append(
                f"| {contender.label} | {fixture} | {result['wall_ms']:.0f} "
                f"({result['min_ms']:.0f}-{result['max_ms']:.0f}) | {result['cpu_ms']:.0f} | "
                f"{result['peak_rss_mib']:.0f} | {result['peak_rss_delta_mib']:.0f} | "
                f"{result['output_bytes']:.0f} |"
            )
    lines += [
        "",
        "CPU time above wall time means several threads (libvips uses a thread pool; libheif "
        "decodes with several threads). Peak RSS is the whole process, including its libraries; "
        '"added" is the growth of the process\'s peak during the timed thumbnail.',
        "",
        "## Goals (issue 9)",
        "",
        "Met or not on the wall-time medians (the goal as written) and on CPU-time medians. "
        "Ratios are the other contender's time over the portal's. Rows marked *stress* use "
        "the heavy-grain JPEG and are not the goals' fixtures.",
        "",
        "| goal | wall time | CPU time | figures |",
        "|---|---|---|---|",
    ]
    for goal in evaluate_goals(results):
        lines.append(
            f"| {goal.text} | {_verdict(goal.met_wall)} | {_verdict(goal.met_cpu)} "
            f"| {goal.detail} |"
        )
    lines += _ingest_section(ingest)
    lines += [
        "",
        "## Not yet measured (need the rest of the file pipeline)",
        "",
        "| benchmark | status |",
        "|---|---|",
    ]
    for title, bench in PIPELINE_BENCHMARKS.items():
        outcome = bench()
        lines.append(f"| {title} | {outcome['status']}: {outcome['why']} |")
    lines += [
        "| API query counts per endpoint | asserted in the test suite, not here (no timings) |",
        "",
    ]
    return "\n".join(lines)


def run_all(repeats: int, output: Path) -> None:
    ensure_fixtures()
    started = time.time()
    load_start = _load_average()
    results: dict[str, dict[str, dict]] = {}
    cells = []
    for name, contender in CONTENDERS.items():
        for fixture in FIXTURES:
            if fixture not in contender.fixtures:
                continue
            if fixture in contender.unsupported:
                results.setdefault(name, {})[fixture] = {"error": contender.unsupported[fixture]}
            else:
                cells.append((name, fixture))
    # Round-robin: one process per cell per round, so a burst of load elsewhere on the
    # machine touches every contender alike rather than one of them.
    samples: dict[tuple[str, str], list[dict]] = {cell: [] for cell in cells}
    for round_number in range(1, repeats + 1):
        print(f"Round {round_number}/{repeats}", flush=True)
        for cell in cells:
            samples[cell].append(measure_once(*cell))
    for (name, fixture), cell_samples in samples.items():
        results.setdefault(name, {})[fixture] = summarise(cell_samples)
        print(f"  {name:<10} {fixture:<8} {_cell(results[name][fixture])}")
    print("Ingest memory (gunicorn, 200 MB multipart, 20 MB Base64)...", flush=True)
    ingest = bench_ingest()
    output.write_text(render_report(results, repeats, started, load_start, ingest))
    output.with_suffix(".json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {output}")


def profile(contender_name: str, fixture: str) -> None:
    from pyinstrument import Profiler

    ensure_fixtures()
    run = CONTENDERS[contender_name].prepare()
    run(fixture_path(fixture, warm=True).read_bytes())
    data = fixture_path(fixture).read_bytes()
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(10):
            run(data)
    print(profiler.output_text(unicode=True, color=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md")
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "FIXTURE"))
    parser.add_argument("--profile", nargs=2, metavar=("CONTENDER", "FIXTURE"))
    parser.add_argument("--make-fixtures", nargs=3, metavar=("DIR", "WIDTH", "HEIGHT"))
    args = parser.parse_args(argv)
    if args.make_fixtures:
        directory, width, height = args.make_fixtures
        _write_fixture_set(Path(directory), int(width), int(height))
    elif args.child:
        print(json.dumps(child(*args.child)))
    elif args.profile:
        profile(*args.profile)
    else:
        run_all(args.repeats, args.output)


if __name__ == "__main__":
    main()
