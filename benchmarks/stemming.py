"""Section 1: the project's `stem_corpus`, cold and warm, against the seed's loop on the real drops."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Summary, print_table, seconds_text, timed, verdict
from benchmarks.seed_reference import seed_reference_stem

REFERENCE_SAMPLE = 1000  # reviews the slow seed reference is timed on unless --full
SPEEDUP_TARGET = 150.0


def review_texts(paths: Sequence[Path]) -> list[str]:
    """Every non-empty review text of the drops, in file order, read by the project's reader."""
    from sentiment_assets.model.reviews import TEXT, read_reviews

    texts: list[str] = []
    for path in paths:
        column = read_reviews(path)[TEXT].dropna()
        texts.extend(text for text in column if text.strip())
    return texts


def benchmark_stemming(drops: Sequence[Path], *, full: bool, summary: Summary) -> bool:
    """The project's `stem_corpus` cold and warm against the seed reference; True if tokens match."""
    import pandas as pd

    texts = review_texts(drops)
    nltk_seconds = _import_seconds("nltk.stem.porter")

    from sentiment_assets.model import stems

    stems.stem_word.cache_clear()
    tokens, cold = timed(stems.stem_corpus, texts)
    warm = min(timed(stems.stem_corpus, texts)[1] for _ in range(3))

    step = 1 if full else max(1, len(texts) // REFERENCE_SAMPLE)
    subset = texts[::step]
    reference_tokens, measured = timed(seed_reference_stem, subset)
    scale = len(texts) / len(subset)
    reference = measured * scale

    differing = [
        i for i, (a, b) in enumerate(zip(reference_tokens, tokens[::step], strict=True)) if a != b
    ]
    reviews = f"{len(texts):,}"
    rows = [
        (
            "nltk import (once per process)",
            "",
            seconds_text(nltk_seconds),
            _import_note(nltk_seconds),
        ),
        ("project stem_corpus, cold", reviews, seconds_text(cold), "stem_word cache cleared first"),
        ("project stem_corpus, warm", reviews, seconds_text(warm), "cache filled; best of 3"),
        (
            "seed reference loop",
            reviews,
            seconds_text(reference),
            "measured on all reviews"
            if step == 1
            else f"measured on {len(subset):,} reviews ({measured:.1f} s), scaled x{scale:.2f}",
        ),
    ]
    print_table(
        "1. Stemming, side by side",
        pd.DataFrame(rows, columns=["implementation", "reviews", "seconds", "note"]),
    )
    if differing:
        first = differing[0] * step
        print(
            f"identical tokens: NO ({len(differing)} of {len(subset):,} reviews differ; first, "
            f"review {first}: project {tokens[first]!r} vs reference {reference_tokens[differing[0]]!r})"
        )
    else:
        print(f"identical tokens: yes ({len(subset):,} reviews)")
    speedup_cold = reference / cold
    cold_with_import = cold + (nltk_seconds or 0.0)
    speedup_verdict = verdict(speedup_cold, SPEEDUP_TARGET, at_least=True, unit="x")
    print(f"speed-up vs seed reference, cold: {speedup_cold:,.0f}x ({speedup_verdict})")
    print(f"speed-up, cold including the nltk import: {reference / cold_with_import:,.0f}x")
    print(f"speed-up, warm: {reference / warm:,.0f}x\n")
    summary += [
        (f"stemming {reviews} reviews, project (cold, NLTK imported)", f"{cold:.2f} s", ""),
        (
            "stemming, the seed's loop" + ("" if step == 1 else f" (scaled from {len(subset):,})"),
            f"{reference:.1f} s",
            "",
        ),
        (
            "speed-up over the seed's loop (cold; with the NLTK import)",
            f"{speedup_cold:,.0f}x; {reference / cold_with_import:,.0f}x",
            speedup_verdict,
        ),
        ("identical tokens", "yes" if not differing else "NO", f"{len(subset):,} reviews compared"),
    ]
    return not differing


def _import_seconds(module: str) -> float | None:
    """Seconds to import `module`, or None when something already imported it."""
    if module in sys.modules:
        return None
    return timed(importlib.import_module, module)[1]


def _import_note(seconds: float | None) -> str:
    return "already imported before timing" if seconds is None else "timed separately, not in cold"
