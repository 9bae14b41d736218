"""Data frames through Parquet by pyarrow: what comes back is what pandas' own calls give."""

import pandas as pd

from sentiment_assets.model.tables import read_parquet, write_parquet


def test_a_frame_comes_back_as_pandas_reads_it(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "review_id": [3, 1, 2],
            "text": ["Lovely", None, "Too small"],
            "probability": [0.9, 0.5, 0.1],
            "label": [True, False, False],
        },
        index=[7, 8, 9],  # not stored, as `to_parquet(index=False)`
    )
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
    write_parquet(frame, ours)
    frame.to_parquet(theirs, index=False)

    for path in (ours, theirs):
        pd.testing.assert_frame_equal(read_parquet(path), pd.read_parquet(ours))
        pd.testing.assert_frame_equal(read_parquet(path), frame.reset_index(drop=True))
    only = read_parquet(ours, columns=["text", "review_id"])
    assert list(only.columns) == ["text", "review_id"]
