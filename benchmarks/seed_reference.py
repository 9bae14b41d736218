"""The seed's cleaning loop as it was written: what the project's stemming is timed and compared
against, by the benchmark and by the tests."""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


def seed_reference_stem(texts: Iterable[str | None]) -> list[str]:
    """The seed's cleaning loop as it was written, to time the project's stemming against.

    Only the seed's `[^a-zA-z]` range bug is fixed, so both produce the same tokens; missing texts
    become "" as in `stem_text` (the seed crashed on them). Like the seed, it asks NLTK's corpus
    reader for `stopwords.words('english')` for every word, which re-reads the list each time.
    """
    from nltk.corpus import stopwords
    from nltk.stem.porter import PorterStemmer

    corpus = []
    with _nltk_stopwords_corpus():
        for text in texts:
            if not isinstance(text, str):
                corpus.append("")
                continue
            review = re.sub("[^a-zA-Z]", " ", text)
            review = review.lower().split()
            ps = PorterStemmer()
            review = [ps.stem(word) for word in review if word not in stopwords.words("english")]
            corpus.append(" ".join(review))
    return corpus


@contextlib.contextmanager
def _nltk_stopwords_corpus() -> Iterator[None]:
    """NLTK's stopword corpus served from a temporary nltk_data folder holding the shipped list,
    because `nltk.download` needs a network this machine does not have."""
    import nltk
    from nltk.corpus import stopwords

    from sentiment_assets.model import stems

    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "corpora" / "stopwords"
        folder.mkdir(parents=True)
        shipped = Path(stems.__file__).with_name("stopwords_english.txt")
        (folder / "english").write_bytes(shipped.read_bytes())
        nltk.data.path.insert(0, home)
        try:
            yield
        finally:
            nltk.data.path.remove(home)
            # The loaded reader points into the folder about to go; make NLTK look it up again.
            if hasattr(stopwords, "_unload"):
                stopwords._unload()
