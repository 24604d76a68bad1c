"""The images every benchmark uses, made by the benchmark itself and cached between runs.

12-megapixel photos (a JPEG, the same JPEG with EXIF orientation 6, a HEIC with an embedded
thumbnail, and a grainy JPEG as a stress case) plus 640x480 twins that warm each contender's
code path. Generated rather than shipped: noise, gradients and hard edges compress like a
photo, and no patient's picture ever needs to sit in the repository.

Run as ``python -m benchmarks.fixtures DIR WIDTH HEIGHT`` to write one set: HEIC encoding peaks
at ~400 MB, so it happens in a process of its own, never in one that is measured.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
FIXTURE_DIR = BENCH_DIR / ".fixtures"
FIXTURE_VERSION = "v3"  # bump when the generator changes, so cached fixtures are remade

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


def write_fixture_set(directory: Path, width: int, height: int) -> None:
    """The fixtures at one size (in this process: call it from a process of its own)."""
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
        subprocess.run(
            [sys.executable, "-m", "benchmarks.fixtures", str(path), str(width), str(height)],
            check=True,
            cwd=REPO_DIR,
        )
    return directory


def fixture_path(name: str, *, warm: bool = False) -> Path:
    suffix = ".heic" if name == "heic" else ".jpg"
    return FIXTURE_DIR / FIXTURE_VERSION / ("warm" if warm else "big") / f"{name}{suffix}"


if __name__ == "__main__":
    directory, width, height = sys.argv[1:4]
    write_fixture_set(Path(directory), int(width), int(height))
