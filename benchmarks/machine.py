"""What the figures were measured on: CPU, memory, OS, library versions and the load average.

Every figure in results.md is a ratio against a reference measured in the same run, because
this machine's two cores are shared with other work; the load average at the start and the
end of the run says how much.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _cpu() -> str:
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return cpu


def _memory() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return "unknown"
    kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
    return f"{kib / 1024 / 1024:.1f} GiB"


def _heif() -> str:
    try:
        import pillow_heif
    except ImportError:
        return "not installed"
    return f"pillow-heif {pillow_heif.__version__}, libheif {pillow_heif.libheif_version()}"


def _vips() -> str:
    try:
        import pyvips
    except (ImportError, OSError):
        return "not installed"
    return (
        f"pyvips {version('pyvips')}, libvips "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} "
        f"(pyvips-binary {version('pyvips-binary')})"
    )


def _servers() -> str:
    from benchmarks.stack import postgres_version, redis_version

    return f"PostgreSQL {postgres_version()}, Redis {redis_version()}"


def description() -> list[tuple[str, str]]:
    from PIL import Image, features

    return [
        ("CPU", f"{_cpu()}, {os.cpu_count()} logical cores"),
        ("RAM", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Pillow", f"{Image.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}"),
        ("HEIF", _heif()),
        ("libvips", _vips()),
        (
            "Peers",
            f"sorl-thumbnail {version('sorl-thumbnail')}, "
            f"easy-thumbnails {version('easy-thumbnails')}, Django {version('Django')}",
        ),
        (
            "Web and workers",
            f"gunicorn {version('gunicorn')}, Celery {version('celery')}, "
            f"Django REST framework {version('djangorestframework')}",
        ),
        ("Servers", _servers()),
    ]
