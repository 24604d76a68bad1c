"""Cleaning: metadata removed from a photo, per format, the portal's lossless path against
today's re-encode path and two tools from Debian's packages.

Contenders, each mapping a file's bytes to the cleaned bytes:

- **lossless**: ``files.pipeline.cleaning.clean_losslessly`` (segments/chunks rewritten, image data
  kept byte for byte; JPEG, PNG, WebP). HEIC has no lossless path: the portal still converts
  it to JPEG for browsers, so its row shows the re-encode path only.
- **re-encode**: ``files.pipeline.rendering.clean_original`` (decode, turn upright, encode
  again), the path the processing step used before lossless cleaning, kept as a contender.
- **exiftool**: ``exiftool -all= -o - FILE`` (libimage-exiftool-perl), one process per file
  as a shell script or a subprocess call would run it.
- **jpegtran**: ``jpegtran -copy icc FILE`` (libjpeg-turbo-progs), JPEG only, likewise.

Fixtures: the 12 MP JPEGs and HEIC of ``benchmarks.fixtures``, plus 8 MP (3264x2448) PNGs,
one screenshot-like (flat colour, text, lines) and one photo-like, and a 12 MP lossy WebP,
each carrying EXIF (GPS), text chunks or XMP as a phone or an editor writes them; made here
once and cached beside the others.

All timings in one child process (``python -m benchmarks.cleaning``), after one untimed call
per contender and fixture; cells round-robin over contenders, REPEATS rounds, median wall
time. Tools are timed as a whole process run (their start-up included: that is their cost
per file).
"""

from __future__ import annotations

import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fixtures import FIXTURE_DIR, FIXTURE_VERSION, REPO_DIR, fixture_path, photo_like
from benchmarks.report import Goal, Section, table

TITLE = "Cleaning: metadata removed per format, lossless path against re-encode and tools"
REPEATS = 5
GOAL_VS_REENCODE = 20.0
CLEAN_DIR = FIXTURE_DIR / FIXTURE_VERSION / "cleaning"
FIXTURES = {
    "jpeg": ("12 MP JPEG (4032x3024)", "image/jpeg"),
    "jpeg_o6": ("12 MP JPEG, EXIF orientation 6", "image/jpeg"),
    "png_screenshot": ("8 MP PNG, screenshot-like (3264x2448)", "image/png"),
    "png_photo": ("8 MP PNG, photo-like (3264x2448)", "image/png"),
    "webp": ("12 MP WebP, lossy q80 (4032x3024)", "image/webp"),
    "heic": ("12 MP HEIC (4032x3024)", "image/heic"),
}
GOAL_FIXTURES = ("jpeg", "jpeg_o6", "png_screenshot", "png_photo")
CONTENDERS = ("lossless", "reencode", "exiftool", "jpegtran")
LABELS = {
    "lossless": "**lossless** `files.pipeline.cleaning.clean_losslessly`",
    "reencode": "re-encode `rendering.clean_original` (the former path)",
    "exiftool": "`exiftool -all=`",
    "jpegtran": "`jpegtran -copy icc`",
}


def _gps_exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "Model X"
    exif[0x0131] = "Editor 1.0"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)})
    return exif.tobytes()


def _screenshot(width: int, height: int):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (246, 247, 249))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 120), fill=(32, 80, 160))
    for row in range(150, height - 40, 36):
        indent = 60 + (row // 36 % 4) * 40
        draw.text((indent, row), f"Patient record line {row} - note, date 2024-05-01", fill=0)
        if row % 180 == 0:
            draw.line((40, row + 30, width - 40, row + 30), fill=(200, 200, 210), width=2)
    draw.rectangle((width - 900, 300, width - 100, 1100), fill=(255, 255, 255), outline=0)
    return image


def ensure_cleaning_fixtures() -> Path:
    """The PNG and WebP fixtures (the JPEGs and HEIC come from benchmarks.fixtures)."""
    if (CLEAN_DIR / "webp.webp").exists():
        return CLEAN_DIR
    from PIL import PngImagePlugin

    CLEAN_DIR.mkdir(parents=True, exist_ok=True)
    exif = _gps_exif()
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Dr Example")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 51.5N</x:xmpmeta>")
    width, height = 3264, 2448
    _screenshot(width, height).save(
        CLEAN_DIR / "png_screenshot.png", "PNG", pnginfo=text, exif=exif
    )
    photo = photo_like(width, height, grain=2)
    photo.save(CLEAN_DIR / "png_photo.png", "PNG", pnginfo=text, exif=exif)
    photo_like(4032, 3024, grain=2).save(
        CLEAN_DIR / "webp.webp", "WEBP", quality=80, exif=exif, xmp=b"<x:xmpmeta/>"
    )
    return CLEAN_DIR


def cleaning_fixture(name: str) -> Path:
    if name in ("jpeg", "jpeg_o6", "heic"):
        return fixture_path(name)
    return CLEAN_DIR / f"{name}.{'webp' if name == 'webp' else 'png'}"


def _tool(command: list[str]) -> bytes:
    return subprocess.run(command, check=True, capture_output=True).stdout


def contender_call(name: str, path: Path, content_type: str):
    """A no-argument call that cleans the fixture once, or None where it does not apply."""
    data = path.read_bytes()
    if name == "lossless":
        from files.pipeline import cleaning

        if content_type not in cleaning.LOSSLESS_TYPES:
            return None
        return lambda: cleaning.clean_losslessly(data, content_type).content
    if name == "reencode":
        from files.pipeline import rendering

        return lambda: rendering.clean_original(io.BytesIO(data)).content
    if name == "exiftool":
        binary = shutil.which("exiftool")
        return binary and (lambda: _tool([binary, "-q", "-all=", "-o", "-", str(path)]))
    if name == "jpegtran":
        binary = shutil.which("jpegtran")
        if content_type != "image/jpeg" or not binary:
            return None
        return lambda: _tool([binary, "-copy", "icc", str(path)])
    raise ValueError(name)


def measure_in_child() -> dict:
    """Runs in the child process: {fixture: {contender: {"ms": [...], "bytes": n} | None}}."""
    calls = {
        fixture: {
            name: contender_call(name, cleaning_fixture(fixture), content_type)
            for name in CONTENDERS
        }
        for fixture, (_, content_type) in FIXTURES.items()
    }
    sizes = {}
    for fixture, by_name in calls.items():
        for name, call in by_name.items():
            if call is None:
                continue
            try:
                sizes[(fixture, name)] = len(call())  # warm, untimed
            except (subprocess.CalledProcessError, ValueError):
                by_name[name] = None  # the tool refuses this file: n/a, never a number
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in sizes}
    for _ in range(REPEATS):
        for fixture, by_name in calls.items():
            for name, call in by_name.items():
                if call is None:
                    continue
                started = time.perf_counter()
                call()
                samples[(fixture, name)].append((time.perf_counter() - started) * 1000)
    return {
        fixture: {
            name: (
                {"ms": samples[(fixture, name)], "bytes": sizes[(fixture, name)]}
                if (fixture, name) in sizes
                else None
            )
            for name in CONTENDERS
        }
        for fixture in FIXTURES
    }


def measure() -> dict:
    ensure_cleaning_fixtures()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.cleaning"],
        cwd=REPO_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cells = json.loads(out.strip().splitlines()[-1])
    for by_name in cells.values():
        for cell in by_name.values():
            if cell is not None:
                cell["median_ms"] = statistics.median(cell["ms"])
    return {
        "status": "measured",
        "cells": cells,
        "sizes": {name: cleaning_fixture(name).stat().st_size for name in FIXTURES},
    }


def _ratio(cells: dict, slower: str, faster: str = "lossless") -> float | None:
    if cells.get(slower) is None or cells.get(faster) is None:
        return None
    return cells[slower]["median_ms"] / cells[faster]["median_ms"]


def markdown(data: dict) -> list[str]:
    rows = []
    for fixture, (label, _) in FIXTURES.items():
        cells = data["cells"][fixture]
        row = [f"{label}, {data['sizes'][fixture]:,} bytes"]
        for name in CONTENDERS:
            cell = cells[name]
            row.append("n/a" if cell is None else f"{cell['median_ms']:.1f}")
        for slower in ("reencode", "exiftool", "jpegtran"):
            ratio = _ratio(cells, slower)
            row.append("n/a" if ratio is None else f"{ratio:.0f}x")
        rows.append(row)
    return [
        "",
        f"## {TITLE}",
        "",
        f"One process, {REPEATS} rounds round-robin over contenders and fixtures after one "
        "untimed call each; median wall ms per file. The tools run as one process per file "
        "(start-up included, as a script would run them). HEIC has no lossless path (it is "
        "still converted to JPEG for browsers), so its lossless cell is n/a. "
        "`benchmarks/cleaning.py`.",
        "",
        *table(
            [
                "fixture",
                *[LABELS[name] + " ms" for name in CONTENDERS],
                "lossless vs re-encode",
                "vs exiftool",
                "vs jpegtran",
            ],
            rows,
        ),
    ]


def goals(data: dict) -> list[Goal]:
    found = []
    for fixture in GOAL_FIXTURES:
        cells = data["cells"][fixture]
        reencode = _ratio(cells, "reencode")
        tools = {name: _ratio(cells, name) for name in ("exiftool", "jpegtran")}
        tools = {name: ratio for name, ratio in tools.items() if ratio is not None}
        met = (
            None
            if reencode is None
            else reencode >= GOAL_VS_REENCODE and all(ratio > 1 for ratio in tools.values())
        )
        figures = f"{reencode:.0f}x re-encode" if reencode is not None else "not measured"
        figures += "".join(f", {ratio:.1f}x {name}" for name, ratio in tools.items())
        found.append(
            Goal(
                "cleaning",
                f"{FIXTURES[fixture][0]}: >= 20x faster than re-encode, faster than the tools",
                met,
                figures,
            )
        )
    return found


def run() -> Section:
    data = measure()
    return Section("cleaning", data, markdown(data), goals(data))


if __name__ == "__main__":
    sys.path[:] = [str(REPO_DIR), *sys.path]
    with tempfile.TemporaryDirectory():
        print(json.dumps(measure_in_child()))
