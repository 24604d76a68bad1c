"""A set of photo-like pictures, made with Pillow, to tune and measure the patient page's
photo quality hint (static/filerequests/quality.js): sharp ones of varied scenes, and
the same scenes deliberately blurred (Gaussian), underexposed, or washed out by glare.

Every picture gets sensor-like noise after its defect, as a real camera adds it after
the lens: a blurred photo is not a perfectly smooth one. The set is the same on every
run (fixed seeds), so the figures in the test are reproducible.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont

WIDTH, HEIGHT = 1600, 1200
SCENES = ("texture", "text", "skin", "rash", "hand")
SEEDS = range(5)
WORDS = [
    "rash",
    "itch",
    "left",
    "arm",
    "since",
    "Monday",
    "cream",
    "twice",
    "daily",
    "redness",
    "spreading",
    "patient",
    "notes",
    "photo",
    "clinic",
    "review",
    "elbow",
    "wrist",
    "mole",
    "border",
    "colour",
    "size",
]


@dataclass(frozen=True)
class Sample:
    name: str
    category: str  # "sharp", "blurred", "dark" or "glare": the hint it should get
    jpeg: bytes


def noise_layer(rng: random.Random, sigma: float) -> Image.Image:
    """Grey noise centred on 128 from ``rng`` (Pillow's effect_noise is not seeded)."""
    layer = Image.frombytes("L", (WIDTH, HEIGHT), rng.randbytes(WIDTH * HEIGHT))
    # Uniform over ±sigma·√3 has the standard deviation sigma.
    scale = sigma * 3**0.5 / 128
    layer = layer.point(lambda value: round(128 + (value - 128) * scale))
    return Image.merge("RGB", [layer, layer, layer])


def with_noise(image: Image.Image, rng: random.Random, sigma: float = 4.0) -> Image.Image:
    return ImageChops.add(image, noise_layer(rng, sigma), scale=1.0, offset=-128)


def skin_tone(rng: random.Random) -> tuple[int, int, int]:
    tones = [(233, 196, 170), (214, 168, 135), (181, 130, 95), (141, 96, 66), (96, 63, 45)]
    base = rng.choice(tones)
    return tuple(max(0, min(255, c + rng.randint(-8, 8))) for c in base)


def lit_gradient(size, colour, rng: random.Random, strength: float = 0.25) -> Image.Image:
    """A surface lit from one side: the colour fading across the frame."""
    image = Image.new("RGB", size, colour)
    shade = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(size)
    dark = ImageEnhance.Brightness(image).enhance(1 - strength)
    return Image.composite(image, dark, shade)


def scene_texture(rng: random.Random) -> Image.Image:
    image = lit_gradient((WIDTH, HEIGHT), (rng.randint(90, 170),) * 3, rng)
    draw = ImageDraw.Draw(image)
    step = rng.randint(14, 30)
    ink = tuple(rng.randint(20, 80) for _ in range(3))
    for x in range(0, WIDTH, step):  # a woven fabric: crossing threads
        draw.line([(x, 0), (x + rng.randint(-40, 40), HEIGHT)], fill=ink, width=2)
    for y in range(0, HEIGHT, step):
        draw.line([(0, y), (WIDTH, y + rng.randint(-40, 40))], fill=ink, width=2)
    for _ in range(300):
        x, y, r = rng.randint(0, WIDTH), rng.randint(0, HEIGHT), rng.randint(2, 10)
        draw.ellipse(
            [x - r, y - r, x + r, y + r], fill=tuple(rng.randint(0, 255) for _ in range(3))
        )
    return image


def scene_text(rng: random.Random) -> Image.Image:
    paper = rng.randint(205, 232)
    image = lit_gradient((WIDTH, HEIGHT), (paper, paper, paper - 6), rng, strength=0.15)
    draw = ImageDraw.Draw(image)
    size = rng.randint(26, 44)
    font = ImageFont.load_default(size=size)
    y = 80
    while y < HEIGHT - 80:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9)))
        draw.text((90, y), line, fill=(30, 30, 40), font=font)
        y += int(size * 1.6)
    return image


def skin_with_detail(rng: random.Random) -> Image.Image:
    """Skin: a lit gradient with pores, fine hairs, freckles and a mole."""
    tone = skin_tone(rng)
    image = lit_gradient((WIDTH, HEIGHT), tone, rng, strength=0.3)
    draw = ImageDraw.Draw(image)
    pore = tuple(int(c * 0.72) for c in tone)
    for _ in range(4000):
        x, y = rng.randint(0, WIDTH), rng.randint(0, HEIGHT)
        r = rng.choice([1, 1, 2])
        draw.ellipse([x - r, y - r, x + r, y + r], fill=pore)
    hair = tuple(int(c * 0.4) for c in tone)
    for _ in range(rng.randint(60, 160)):
        x, y = rng.randint(0, WIDTH), rng.randint(0, HEIGHT)
        dx, dy = rng.randint(-60, 60), rng.randint(10, 90)
        draw.line([(x, y), (x + dx, y + dy)], fill=hair, width=rng.choice([1, 2]))
    for _ in range(rng.randint(5, 40)):
        x, y, r = rng.randint(0, WIDTH), rng.randint(0, HEIGHT), rng.randint(4, 12)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(c * 0.8) for c in tone))
    x, y, r = rng.randint(400, 1200), rng.randint(300, 900), rng.randint(25, 60)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=(70, 45, 35))
    return image


def scene_skin(rng: random.Random) -> Image.Image:
    return skin_with_detail(rng)


def scene_rash(rng: random.Random) -> Image.Image:
    image = skin_with_detail(rng)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(15, 40)):
        x, y = rng.randint(200, WIDTH - 200), rng.randint(150, HEIGHT - 150)
        rx, ry = rng.randint(10, 70), rng.randint(10, 60)
        red = (rng.randint(170, 210), rng.randint(60, 100), rng.randint(60, 90))
        draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=red, outline=(140, 40, 40), width=2)
    return image


def scene_hand(rng: random.Random) -> Image.Image:
    background = tuple(rng.randint(40, 200) for _ in range(3))
    image = lit_gradient((WIDTH, HEIGHT), background, rng)
    skin = skin_with_detail(rng)
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse([450, 350, 1150, 1150], fill=255)  # the palm
    for index in range(4):  # the fingers
        x = 480 + index * 165
        draw.rounded_rectangle([x, 60 + rng.randint(0, 80), x + 130, 700], radius=60, fill=255)
    draw.rounded_rectangle([1050, 500, 1450, 640], radius=60, fill=255)  # the thumb
    image.paste(skin, (0, 0), mask)
    return image


SCENE_MAKERS = {
    "texture": scene_texture,
    "text": scene_text,
    "skin": scene_skin,
    "rash": scene_rash,
    "hand": scene_hand,
}


def blurred(image: Image.Image, rng: random.Random) -> Image.Image:
    """Out of focus or shaken: a Gaussian blur of 3 to 8 px at 1600 px wide."""
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(3.0, 8.0)))


def dark(image: Image.Image, rng: random.Random) -> Image.Image:
    """Taken indoors at night without flash: a fraction of the light, more noise."""
    return ImageEnhance.Brightness(image).enhance(rng.uniform(0.08, 0.22))


def glare(image: Image.Image, rng: random.Random) -> Image.Image:
    """Flash bouncing off shiny skin, or the sun behind: overexposed, a burnt-out patch."""
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(1.5, 2.1))
    spot = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(spot)
    x, y = rng.randint(300, WIDTH - 300), rng.randint(250, HEIGHT - 250)
    r = rng.randint(220, 420)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    spot = spot.filter(ImageFilter.GaussianBlur(r / 4))
    return Image.composite(Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255)), image, spot)


DEFECTS = {"blurred": blurred, "dark": dark, "glare": glare}


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def quality_samples(seeds=SEEDS) -> list[Sample]:
    """Sharp, blurred, dark and glare versions of every scene and seed."""
    samples = []
    for scene in SCENES:
        for seed in seeds:
            rng = random.Random(f"{scene}-{seed}")
            clean = SCENE_MAKERS[scene](rng)
            samples.append(Sample(f"{scene}-{seed}", "sharp", jpeg(with_noise(clean, rng))))
            for category, defect in DEFECTS.items():
                damaged = with_noise(
                    defect(clean, rng), rng, sigma=6.0 if category == "dark" else 4.0
                )
                samples.append(Sample(f"{scene}-{seed}-{category}", category, jpeg(damaged)))
    return samples


def scene_photo(scene: str = "rash", seed: int = 0, defect: str | None = None) -> bytes:
    """One photo of the set as a JPEG: a sharp scene, or with ``defect`` applied."""
    rng = random.Random(f"{scene}-{seed}")
    image = SCENE_MAKERS[scene](rng)
    if defect is not None:
        image = DEFECTS[defect](image, rng)
    return jpeg(with_noise(image, rng))
