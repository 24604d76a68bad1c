"""Thumbnails: a 12 MP photo to 200x140 aspect-fill, cold, the portal's renderer against its peers.

Contenders: the portal's `render_aspect_fill`, sorl-thumbnail (its Pillow engine decodes the
whole image), easy-thumbnails, plain Pillow (full decode and resize), pyvips `thumbnail`
(libvips shrink-on-load), and the floor: decoding the JPEG at its reduced DCT scale and
nothing else. Each maps image bytes to JPEG q85 thumbnail bytes; `prepare()` does imports and
configuration, untimed.

Each measurement runs in a fresh process (``python -m benchmarks.thumbnails CONTENDER
FIXTURE``): it imports its library, warms its code path on a 640x480 twin, then times
RENDERS_PER_PROCESS cold thumbnails of the 12 MP fixture (nothing cached between them) and
reports wall time, CPU time and peak RSS. Cells are run round-robin across contenders, so a
burst of load elsewhere on the machine touches every contender alike.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks import proc
from benchmarks.fixtures import (
    FIXTURES,
    GOAL_FIXTURES,
    JPEG_FIXTURES,
    REPO_DIR,
    ensure_fixtures,
    fixture_path,
)
from benchmarks.report import Goal, Section, table

REQUEST = (200, 140)
JPEG_QUALITY = 85
DEFAULT_REPEATS = 7  # fresh processes per cell
RENDERS_PER_PROCESS = 3  # timed thumbnails per process (median), each from the bytes again
TITLE = "Thumbnails: 12 MP photo to 200x140 aspect-fill, cold"


@dataclass
class Contender:
    name: str
    label: str
    prepare: Callable[[], Callable[[bytes], bytes]]
    fixtures: tuple[str, ...] = ("jpeg", "jpeg_o6", "heic", "jpeg_grainy")
    note: str = ""
    unsupported: dict[str, str] = field(default_factory=dict)


def _prepare_portal():
    from files.pipeline.rendering import render_aspect_fill

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

    from files.pipeline.rendering import aspect_fill_size

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

    from files.pipeline.rendering import DRAFT_FACTOR, aspect_fill_size

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
# One cold measurement, in a process of its own
# --------------------------------------------------------------------------------------


def child(contender_name: str, fixture: str) -> dict:
    run = CONTENDERS[contender_name].prepare()
    run(fixture_path(fixture, warm=True).read_bytes())  # imports, plugin and library set-up
    data = fixture_path(fixture).read_bytes()
    process_peak = proc.peak_rss_mib()  # imports + warm-up + the input bytes
    rss_before = proc.rss_mib()
    proc.reset_peak_rss()
    walls, cpus = [], []
    for _ in range(RENDERS_PER_PROCESS):
        cpu_before = proc.cpu_seconds()
        started = time.perf_counter()
        output = run(data)
        walls.append(time.perf_counter() - started)
        cpus.append(proc.cpu_seconds() - cpu_before)
    thumbnail_peak = proc.peak_rss_mib()
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "cpu_ms": statistics.median(cpus) * 1000,
        "peak_rss_mib": max(process_peak, thumbnail_peak),
        "peak_rss_delta_mib": max(0.0, thumbnail_peak - rss_before),
        "output_bytes": len(output),
    }


def measure_once(contender_name: str, fixture: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.thumbnails", contender_name, fixture],
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


def measure(repeats: int) -> dict[str, dict[str, dict]]:
    ensure_fixtures()
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
    samples: dict[tuple[str, str], list[dict]] = {cell: [] for cell in cells}
    for round_number in range(1, repeats + 1):
        print(f"  thumbnails round {round_number}/{repeats}", flush=True)
        for cell in cells:
            samples[cell].append(measure_once(*cell))
    for (name, fixture), cell_samples in samples.items():
        results.setdefault(name, {})[fixture] = summarise(cell_samples)
        print(f"    {name:<10} {fixture:<12} {_cell(results[name][fixture])}")
    return results


# --------------------------------------------------------------------------------------
# Goals and markdown
# --------------------------------------------------------------------------------------


def _cell(result: dict | None) -> str:
    if result is None:
        return "-"
    if "error" in result:
        return f"n/a ({result['error']})"
    return f"{result['wall_ms']:.0f}"


def goals(results: dict) -> list[Goal]:
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
        figures = (
            f"{other_label} / portal: wall {wall_ratio:.2f}x "
            f"({other_cell['wall_ms']:.0f} / {portal_cell['wall_ms']:.0f} ms), "
            f"CPU {cpu_ratio:.2f}x ({other_cell['cpu_ms']:.0f} / {portal_cell['cpu_ms']:.0f} ms)"
        )
        return Goal("thumbnails", text, verdicts[0], figures, met_cpu=verdicts[1], has_cpu=True)

    found = []
    for fixture in (*GOAL_FIXTURES, "jpeg_grainy"):
        portal = cell("portal", fixture)
        for peer, label in (("sorl", "sorl-thumbnail"), ("easy", "easy-thumbnails")):
            found.append(
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
        found.append(
            compare(
                f"{FIXTURES[fixture]}: no slower than pyvips",
                portal,
                cell("pyvips", fixture),
                "pyvips",
                1.0,
                portal_slower_ok=True,
            )
        )
        found.append(
            compare(
                f"{FIXTURES[fixture]}: within 1.2x of the floor",
                portal,
                cell("floor", fixture),
                "floor",
                1.2,
                portal_slower_ok=True,
            )
        )
    found.append(
        compare(
            "HEIC thumbnail no slower than the JPEG one",
            cell("portal", "heic"),
            cell("portal", "jpeg"),
            "portal JPEG",
            1.0,
            portal_slower_ok=True,
        )
    )
    return [goal for goal in found if goal is not None]


def _wall_row(name: str, contender: Contender, results: dict) -> list[str]:
    cells = []
    portal = results.get("portal", {})
    for fixture in FIXTURES:
        result = results.get(name, {}).get(fixture)
        text = _cell(result)
        mine = portal.get(fixture)
        if result and "error" not in result and mine and "error" not in mine and name != "portal":
            text += f" ({result['wall_ms'] / mine['wall_ms']:.2f}x portal)"
        cells.append(text)
    return [contender.label, *cells, contender.note]


def _detail_rows(results: dict) -> list[list[str]]:
    rows = []
    for name, contender in CONTENDERS.items():
        for fixture in FIXTURES:
            result = results.get(name, {}).get(fixture)
            if result is None:
                continue
            if "error" in result:
                rows.append([contender.label, fixture, _cell(result), "", "", "", ""])
                continue
            rows.append(
                [
                    contender.label,
                    fixture,
                    f"{result['wall_ms']:.0f} ({result['min_ms']:.0f}-{result['max_ms']:.0f})",
                    f"{result['cpu_ms']:.0f}",
                    f"{result['peak_rss_mib']:.0f}",
                    f"{result['peak_rss_delta_mib']:.0f}",
                    f"{result['output_bytes']:.0f}",
                ]
            )
    return rows


def markdown(results: dict, repeats: int) -> list[str]:
    return [
        "",
        f"## {TITLE}",
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
        *table(
            ["contender", *FIXTURES.values(), "how"],
            [_wall_row(name, contender, results) for name, contender in CONTENDERS.items()],
        ),
        "",
        "`(N x portal)`: the contender's time divided by the portal's; above 1 means the portal "
        "is faster.",
        "",
        "### Detail: CPU time, memory, spread",
        "",
        *table(
            [
                "contender",
                "fixture",
                "wall median (min-max) ms",
                "CPU ms",
                "peak RSS MiB",
                "peak RSS added by the thumbnail MiB",
                "output bytes",
            ],
            _detail_rows(results),
        ),
        "",
        "CPU time above wall time means several threads (libvips uses a thread pool; libheif "
        "decodes with several threads). Peak RSS is the whole process, including its libraries; "
        '"added" is the growth of the process\'s peak during the timed thumbnail.',
    ]


def run(repeats: int = DEFAULT_REPEATS) -> Section:
    results = measure(repeats)
    return Section("thumbnails", results, markdown(results, repeats), goals(results))


def profile(contender_name: str, fixture: str) -> None:
    """pyinstrument of ten renders of one cell, printed (``run.py --profile``)."""
    from pyinstrument import Profiler

    ensure_fixtures()
    render = CONTENDERS[contender_name].prepare()
    render(fixture_path(fixture, warm=True).read_bytes())
    data = fixture_path(fixture).read_bytes()
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(10):
            render(data)
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
