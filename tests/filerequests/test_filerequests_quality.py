"""The patient page's photo quality hint, measured: the page's own script
(static/filerequests/quality.js) runs in Chromium over a set of sharp photos of varied
scenes and the same scenes blurred, underexposed or washed out by glare
(tests/support/photo_quality_set.py), and the hit rate per category is printed as a
table and held within bounds.

Read the table as: for each category of photo, how many got each hint. The "sharp" row
is the false-positive row (any hint there is wrong); each other row's own column is
its true-positive rate."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest

from tests.support.browser import new_context
from tests.support.photo_quality_set import quality_samples

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUALITY_JS = Path(__file__).resolve().parents[2] / "static" / "filerequests" / "quality.js"
HINTS = ("blur", "dark", "glare")


def assess_in_chromium(chromium, samples) -> list[dict]:
    context = new_context(chromium, {"viewport": {"width": 390, "height": 844}})
    page = context.new_page()
    try:
        page.set_content("<!doctype html><title>quality</title>")
        page.add_script_tag(content=QUALITY_JS.read_text())
        results = []
        for sample in samples:
            assessment = page.evaluate(
                """async (encoded) => {
                    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
                    return await window.PhotoQuality.assess(
                        new Blob([bytes], { type: "image/jpeg" }));
                }""",
                base64.b64encode(sample.jpeg).decode(),
            )
            assert assessment is not None, f"{sample.name} could not be decoded"
            results.append({"sample": sample, **assessment})
        return results
    finally:
        context.close()


def hit_table(results) -> dict[str, Counter]:
    table: dict[str, Counter] = {}
    for result in results:
        row = table.setdefault(result["sample"].category, Counter())
        row["photos"] += 1
        for problem in result["problems"]:
            row[problem] += 1
        if not result["problems"]:
            row["none"] += 1
    return table


def print_table(table: dict[str, Counter], title: str) -> None:
    print(f"\nPhoto quality hint, {title} (quality.js in Chromium)")
    print(f"{'category':10}{'photos':>8}{'blur':>7}{'dark':>7}{'glare':>7}{'no hint':>9}")
    for category in ("sharp", "blurred", "dark", "glare"):
        row = table[category]
        print(
            f"{category:10}{row['photos']:>8}{row['blur']:>7}{row['dark']:>7}"
            f"{row['glare']:>7}{row['none']:>9}"
        )


@pytest.mark.parametrize(
    ("title", "seeds", "blur_rate"),
    [
        ("tuning set (seeds 0-4)", range(5), 0.9),
        # Not looked at while tuning: how the thresholds do on scenes they never saw.
        ("held-out set (seeds 5-9)", range(5, 10), 0.8),
    ],
)
def test_quality_hint_hit_rate_on_sharp_blurred_dark_and_glare_photos(
    chromium, title, seeds, blur_rate
):
    """GIVEN 25 sharp photo-like pictures (fabric, printed text, skin of five tones, a
    rash, a hand) and each of them blurred (Gaussian, 3-8 px), dark (8-22% of the light)
    and glared (overexposed with a burnt-out patch), all with sensor noise, as JPEGs
    WHEN the patient page's quality script assesses each one in Chromium
    THEN at least 90% of blurred photos get the blur hint (80% on the held-out set),
    every dark one the dark hint, at least 90% of glared ones the glare hint, and at most
    one sharp photo any hint."""
    results = assess_in_chromium(chromium, quality_samples(seeds))
    table = hit_table(results)
    print_table(table, title)
    for result in results:
        if result["sample"].category == "sharp" and result["problems"]:
            print("false positive:", result["sample"].name, result["metrics"])
        if result["sample"].category != "sharp" and not result["problems"]:
            print("missed:", result["sample"].name, result["metrics"])

    sharp, blurred, dark, glare = (table[c] for c in ("sharp", "blurred", "dark", "glare"))
    assert sharp["photos"] == blurred["photos"] == dark["photos"] == glare["photos"] == 25
    assert sharp["photos"] - sharp["none"] <= 1
    assert blurred["blur"] >= blur_rate * blurred["photos"]
    assert dark["dark"] == dark["photos"]
    assert glare["glare"] >= 0.9 * glare["photos"]
    # The hint shown first names the problem the photo really has.
    first_hints = Counter(
        (r["sample"].category, r["problems"][0]) for r in results if r["problems"]
    )
    assert first_hints[("dark", "dark")] == dark["photos"]
    assert first_hints[("blurred", "blur")] == blurred["blur"]
