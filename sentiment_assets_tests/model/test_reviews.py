import os
from pathlib import Path

import pandas as pd
import pytest

from sentiment_assets.model.review_schema import example
from sentiment_assets.model.reviews import (
    HEAD_BYTES,
    KAGGLE_COLUMNS,
    LABEL,
    NUMERIC_COLUMNS,
    REVIEW_ID,
    TEXT,
    TITLE,
    IncompleteFileError,
    ReviewFileError,
    open_reviews,
    read_reviews,
    review_chunks,
    unfinished_tail,
    validation_problems,
)

HEADER = "," + ",".join(KAGGLE_COLUMNS) + "\n"


def _row(review_id: object, text: str = "Lovely dress", label: str = "1", title: str = "") -> str:
    return f"{review_id},1078,35,{title},{text},5,{label},2,General,Dresses,Dresses\n"


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "reviews_test.csv"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _incomplete(path: Path) -> str:
    """Why a file is judged unfinished (bytes may still come), checking the full message too."""
    with pytest.raises(IncompleteFileError) as caught:
        read_reviews(path)
    reason = caught.value.reason
    assert caught.value.problem == f"the file is incomplete: {reason} (still being written?)"
    return reason


def _problem(path: Path) -> str:
    with pytest.raises(ReviewFileError) as caught:
        read_reviews(path)
    assert caught.value.path == path
    assert str(caught.value) == f"{path.name}: {caught.value.problem}"
    return caught.value.problem


def test_reads_the_kaggle_layout(tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + _row(10, title="So soft!")
        + _row(11, text='"Fits well.\r\n\r\nthe ""petite"" runs long,\nsadly"', label="0")
        + _row(12, text=""),
    )
    reviews = read_reviews(path)
    assert list(reviews.columns) == [REVIEW_ID, *KAGGLE_COLUMNS]
    assert isinstance(reviews.index, pd.RangeIndex)
    assert reviews[REVIEW_ID].dtype == "int64" and reviews[LABEL].dtype == "int64"
    assert reviews[REVIEW_ID].tolist() == [10, 11, 12]
    assert reviews[LABEL].tolist() == [1, 0, 1]
    assert reviews[TEXT][1] == 'Fits well.\r\n\r\nthe "petite" runs long,\nsadly'
    assert reviews[TITLE][0] == "So soft!"
    assert reviews[TITLE][1:].isna().all() and pd.isna(reviews[TEXT][2])
    assert reviews["Age"].tolist() == [35, 35, 35]


def test_words_like_na_are_text_not_missing(tmp_path):
    reviews = read_reviews(_write(tmp_path, HEADER + _row(0, text="NA", title="None")))
    assert reviews[TEXT][0] == "NA" and reviews[TITLE][0] == "None"


def test_without_an_index_column_rows_are_numbered_and_every_column_kept(tmp_path):
    path = _write(tmp_path, "Store,Review Text,Recommended IND\nparis,Nice,1\nlyon,Meh,0\n")
    reviews = read_reviews(path)
    assert list(reviews.columns) == [REVIEW_ID, "Store", TEXT, LABEL]
    assert reviews[REVIEW_ID].tolist() == [0, 1]
    assert reviews["Store"].tolist() == ["paris", "lyon"]


def test_a_first_column_named_review_id_is_the_id(tmp_path):
    original = read_reviews(_write(tmp_path, HEADER + _row(7) + _row(9, label="0")))
    copy = tmp_path / "copy.csv"
    original.to_csv(copy, index=False)
    pd.testing.assert_frame_equal(read_reviews(copy), original)


def test_unlabelled_reviews_can_be_read_for_scoring(tmp_path):
    path = _write(tmp_path, "Title,Review Text\nWow,Lovely dress\n")
    reviews = read_reviews(path, require_label=False)
    assert list(reviews.columns) == [REVIEW_ID, TITLE, TEXT]
    assert reviews[TEXT].tolist() == ["Lovely dress"]
    assert _problem(path) == (
        "missing required column(s): 'Recommended IND' (the header has: 'Title', 'Review Text')"
    )


def test_missing_file(tmp_path):
    assert _problem(tmp_path / "nowhere.csv") == "file not found"


def test_a_folder_is_not_a_review_file(tmp_path):
    assert _problem(tmp_path) == "is a folder, not a file"


def test_empty_file(tmp_path):
    assert _problem(_write(tmp_path, b" \n\r\n\t\n")) == "the file is empty"
    # Without a single byte it may be a file just created: unfinished, not bad.
    assert _incomplete(_write(tmp_path, b"")) == "it is empty"


def test_header_without_rows(tmp_path):
    assert _problem(_write(tmp_path, HEADER)) == "the file has a header but no review rows"


def test_not_utf8(tmp_path):
    path = _write(tmp_path, HEADER.encode() + _row(0, text="Joli café").encode("latin-1"))
    problem = _problem(path)
    offset = len(HEADER) + _row(0, text="Joli café").index("é")
    assert problem.startswith("the file is not UTF-8 text: ")
    assert f"byte 0xe9 at byte offset {offset} (line 2)" in problem


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (",Title,Rating", "'Review Text', 'Recommended IND'"),
        (",Title,Review,Recommended IND", "'Review Text'"),
    ],
)
def test_missing_required_columns(tmp_path, header, missing):
    fields = header.count(",") + 1
    problem = _problem(_write(tmp_path, header + "\n" + ",".join(["1"] * fields) + "\n"))
    assert problem.startswith(f"missing required column(s): {missing} (the header has: ")
    assert "'Title'" in problem


def test_labels_other_than_0_or_1(tmp_path):
    rows = [_row(10, text='"two\nlines"'), _row(11, label="2"), _row(12, label="yes")]
    rows += [_row(13, label=""), _row(14, label="-1"), _row(15, label="0")]
    problem = _problem(_write(tmp_path, HEADER + "".join(rows)))
    assert problem.startswith("Recommended IND must be 0 or 1: 4 of 6 rows hold something else (")
    for found in ("'2' (1x)", "'yes' (1x)", "'-1' (1x)", "empty (1x)"):
        assert found in problem
    # The multi-line review 10 takes lines 2-3, so review 11 starts on line 4.
    assert "review_id 11 (line 4), review_id 12 (line 5)" in problem
    assert "review_id 15" not in problem


def test_a_free_text_label_column_gives_a_short_message(tmp_path):
    # A column shift put review texts where the label belongs, in every one of 50,000 rows.
    rows = [_row(i, label=f"Review number {i} was long: {'words ' * 30}") for i in range(50_000)]
    problem = _problem(_write(tmp_path, HEADER + "".join(rows)))
    assert len(problem) < 1000
    assert problem.startswith(
        "Recommended IND must be 0 or 1: 50000 of 50000 rows hold something else "
        "(50000 distinct values, the commonest 'Review number 0 was long: words words wo...' (1x)"
    )
    assert problem.endswith(
        "review_id 0 (line 2), review_id 1 (line 3), review_id 2 (line 4), review_id 3 (line 5), "
        "review_id 4 (line 6) and 49995 more"
    )


def test_every_column_has_one_type_whatever_the_values(tmp_path):
    rows = [_row(1), _row(2).replace(",35,", ",,"), _row(3)]
    header = HEADER.rstrip("\n") + ",Store\n"
    stores = ["12", "paris", ""]
    content = header + "".join(
        r.rstrip("\n") + f",{s}\n" for r, s in zip(rows, stores, strict=True)
    )
    reviews = read_reviews(_write(tmp_path, content))
    assert reviews["Age"].dtype == "Int64" and reviews["Age"].tolist() == [35, pd.NA, 35]
    assert {str(reviews[c].dtype) for c in NUMERIC_COLUMNS} == {"Int64"}
    # A column outside the Kaggle schema is text, whatever it holds: numbers stay as written.
    assert reviews["Store"].tolist()[:2] == ["12", "paris"] and pd.isna(reviews["Store"][2])
    reviews.to_parquet(tmp_path / "stored.parquet")  # storage takes every column


def test_a_non_numeric_age_in_a_large_drop_names_the_file_and_rows(tmp_path):
    # Past pandas' 65,536-row chunks, which type-guessed each chunk apart: the column came out half
    # numbers, half text, and storage crashed on it (ArrowInvalid) after validation had passed.
    rows = [_row(i) for i in range(100_000)]
    rows[99_990] = _row(99_990).replace(",35,", ",forty,")
    path = _write(tmp_path, HEADER + "".join(rows))
    assert _problem(path) == (
        "'Age' must hold whole numbers: 1 of 100000 rows hold something else ('forty' (1x)): "
        "review_id 99990 (line 99992)"
    )


def test_a_decimal_age_names_the_file_and_row(tmp_path):
    """Not a cast error without the file's name: a whole-number column refuses 34.5 as it does
    'forty'."""
    path = _write(tmp_path, HEADER + _row(1).replace(",35,", ",34.5,") + _row(2))
    assert _problem(path) == (
        "'Age' must hold whole numbers: 1 of 2 rows hold something else ('34.5' (1x)): "
        "review_id 1 (line 2)"
    )


def test_a_review_id_column_elsewhere_than_first_is_refused(tmp_path):
    path = _write(tmp_path, ",Review Text,Recommended IND,review_id\n0,Nice,1,7\n")
    assert (
        _problem(path) == "a column named 'review_id' must be the first column, where the ids are"
    )


def test_a_huge_header_is_listed_in_short(tmp_path):
    header = ",".join(f"column {i} {'x' * 60}" for i in range(3000))
    problem = _problem(_write(tmp_path, header + "\n" + ",".join(["1"] * 3000) + "\n"))
    assert len(problem) < 1000
    assert problem.endswith(" and 2993 more)")


def test_duplicated_review_ids(tmp_path):
    problem = _problem(_write(tmp_path, HEADER + _row(5) + _row(6) + _row(5) + _row(6)))
    assert problem == "duplicated review_id(s): 5 (lines 2, 4), 6 (lines 3, 5)"


def test_review_ids_must_be_whole_numbers(tmp_path):
    problem = _problem(_write(tmp_path, HEADER + _row(1) + _row("x") + _row(2.5)))
    assert problem.endswith("which must be whole numbers below 2^53; it does not on line 3, line 4")


def test_review_ids_from_2_to_the_53_are_refused_not_wrapped_or_merged(tmp_path):
    # As floats they lose digits (the first two would be one id), as int64 they would wrap.
    huge = ["9007199254740993", "9007199254740992", "99999999999999999999", "-9223372036854775808"]
    problem = _problem(_write(tmp_path, HEADER + _row(1) + "".join(map(_row, huge))))
    assert problem.endswith("below 2^53; it does not on line 3, line 4, line 5, line 6")


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    header = HEADER.rstrip("\n") + ",Review Text,Recommended IND\n"
    row = _row(1).rstrip("\n") + ",Other text,0\n"
    problem = _problem(_write(tmp_path, header + row))
    assert problem == "the header names column(s) 'Recommended IND', 'Review Text' twice or more"


def test_a_header_with_two_unnamed_columns_is_read(tmp_path):
    """The index column and a trailing comma (a spreadsheet's export) both have no name: not a
    column named twice."""
    path = _write(
        tmp_path, ",Title,Review Text,Recommended IND,\n7,Nice,Fits well,1,\n8,,Ripped,0,\n"
    )
    reviews = read_reviews(path)
    assert reviews[REVIEW_ID].tolist() == [7, 8]
    assert reviews[LABEL].tolist() == [1, 0]
    assert reviews[TEXT].tolist() == ["Fits well", "Ripped"]


def test_the_id_column_moved_elsewhere_still_holds_the_ids(tmp_path):
    """The export with its columns reordered: its rows once got numbers 0, 1, ... for ids, and
    the retailer's ids became a text column."""
    path = _write(tmp_path, "Title,Review Text,Recommended IND,\nNice,Fits,1,13500\n,Rip,0,13501\n")
    reviews = read_reviews(path)
    assert reviews[REVIEW_ID].tolist() == [13500, 13501]
    assert list(reviews.columns) == [REVIEW_ID, TITLE, TEXT, LABEL]


def test_two_unnamed_columns_starting_with_numbers_are_refused_not_guessed(tmp_path):
    path = _write(tmp_path, "Title,,Review Text,Recommended IND,\nNice,3,Fits,1,7\n,4,Rip,0,8\n")
    assert _problem(path) == (
        "columns 2 and 5 have no name and start with a whole number: only one may, the review "
        "ids (the export's first column); name the others"
    )
    moved = _write(tmp_path, "Title,Review Text,Recommended IND,\nNice,Fits,1,7\nOk,Fine,1,x\n")
    assert _problem(moved) == (
        "column 4 (its header is empty) holds the review ids, which must be whole numbers below "
        "2^53; it does not on line 3"
    )


def test_an_unnamed_column_of_notes_stays_a_column(tmp_path):
    """Empty on the first row (a trailing comma, a note here and there): not the ids."""
    path = _write(
        tmp_path, "Title,Review Text,Recommended IND,\nNice,Fits,1,\nOk,Fine,1,see note\n"
    )
    reviews = read_reviews(path)
    assert reviews[REVIEW_ID].tolist() == [0, 1]
    assert reviews["Unnamed: 3"].tolist()[1] == "see note"


def test_the_id_column_is_chosen_alike_read_whole_or_in_chunks(tmp_path):
    rows = "".join(f"Nice,Fits,1,{100 + i}\n" for i in range(5))
    path = _write(tmp_path, "Title,Review Text,Recommended IND,\n" + rows)
    whole = read_reviews(path)[REVIEW_ID].tolist()
    with open_reviews(path) as stream:
        chunked = [i for chunk in review_chunks(stream, path, rows=2) for i in chunk[REVIEW_ID]]
    assert whole == chunked == [100, 101, 102, 103, 104]


@pytest.mark.parametrize(
    ("fields", "broken"),
    [
        (12, "2,1078,35,,Nice,5,1,2,General,Dresses,Dresses,extra\n"),
        (10, "2,1078,,Nice,5,1,2,General,Dresses,Dresses\n"),  # a lost comma
    ],
)
def test_a_record_with_the_wrong_number_of_fields(tmp_path, fields, broken):
    path = _write(tmp_path, HEADER + _row(1) + broken + _row(3))
    problem = _problem(path)
    assert problem == (
        f"cannot be parsed as CSV: the record on line 3 has {fields} fields but the header has 11"
    )


def test_a_quoted_field_that_never_closes(tmp_path):
    path = _write(tmp_path, HEADER + _row(1) + '2,1078,35,,"Lovely\nbut\n')
    assert _incomplete(path) == "it ends inside a quoted field of the record starting on line 3"


def test_a_file_without_final_newline_is_incomplete(tmp_path):
    path = _write(tmp_path, HEADER + _row(1) + _row(2).rstrip("\n"))
    assert _incomplete(path) == "it does not end with a newline"


def test_a_classic_mac_export_ending_each_line_with_a_carriage_return_is_read(tmp_path):
    path = _write(tmp_path, (HEADER + _row(1) + _row(2)).replace("\n", "\r"))
    assert read_reviews(path)[REVIEW_ID].tolist() == [1, 2]


def test_a_crlf_file_stopped_between_its_cr_and_lf_is_still_being_written(tmp_path):
    content = (HEADER + _row(1) + _row(2)).replace("\n", "\r\n")
    assert _incomplete(_write(tmp_path, content[:-1])) == "it does not end with a newline"


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "it is a ZIP archive (an Excel .xlsx workbook is one)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "it is an Excel .xls workbook"),
        (b"\x1f\x8b\x08\x00\x00\x00", "it is gzip-compressed"),
    ],
    ids=["xlsx", "xls", "gzip"],
)
def test_a_workbook_or_compressed_file_is_refused_as_such_not_as_unfinished(tmp_path, start, said):
    path = _write(tmp_path, start + bytes(range(256)) * 4)
    assert _problem(path).startswith(f"{said}, not CSV text; ")


def test_a_compressed_file_is_told_to_be_decompressed_wherever_it_is_read(tmp_path):
    """Not "into the landing folder": `sentiment-predict --file` reads files from anywhere."""
    path = _write(tmp_path, b"\x1f\x8b\x08\x00\x00\x00" + bytes(range(256)))
    assert _problem(path) == "it is gzip-compressed, not CSV text; decompress it first (gunzip)"


@pytest.mark.parametrize(("separator", "words"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_is_named_as_such(tmp_path, separator, words):
    """Excel's regional CSV and its tab-delimited text: their columns were said to be missing."""
    content = (HEADER + _row(1)).replace(",", separator)
    assert _problem(_write(tmp_path, content)) == (
        f"its fields are separated by {words}, not commas (the header is "
        f"{example(HEADER.replace(',', separator).rstrip(chr(10)))}); export it as CSV UTF-8 "
        "(comma delimited)"
    )


def test_a_file_separated_by_tabs_with_a_renamed_column_is_named_as_such_and_the_column_too(
    tmp_path,
):
    """A review found a tab-separated export with a renamed label column named only as missing
    columns, its header shown without its leading empty field."""
    content = (HEADER.replace("Recommended IND", "Recommended") + _row(1)).replace(",", "\t")
    problem = _problem(_write(tmp_path, content))
    assert problem.startswith(
        "its fields are separated by tabs, not commas (the header is '\\tClothing ID\\tAge"
    )
    assert "; even so it has no column(s) 'Recommended IND'; export it as CSV UTF-8" in problem


def test_the_last_byte_alone_says_what_parsing_says_about_the_end(tmp_path):
    ends = (b"", HEADER.encode() + b"0,1", (HEADER + _row(1)).encode())
    for content in (*ends, (HEADER + _row(1)).replace("\n", "\r").encode()):
        path = _write(tmp_path, content)
        try:
            read_reviews(path)
            found = None
        except IncompleteFileError as err:
            found = err.reason
        assert unfinished_tail(content[-1:], content[:HEAD_BYTES]) == found


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_export_is_refused_as_such_not_as_unfinished(tmp_path, encoding):
    # It ends in a NUL, not a newline: without a look at its start it would wait as unfinished.
    path = _write(tmp_path, (HEADER + _row(1)).encode(encoding))
    found = "UTF-32" if encoding == "utf-32" else "UTF-16"
    assert _problem(path).startswith(f"it is {found} text (")
    assert _problem(path).endswith("; export it as UTF-8")


def test_a_file_still_filled_with_nul_bytes_is_not_taken_for_utf16(tmp_path):
    # A copy that preallocates its file: NULs where the rest will go, after text or alone.
    for content in (HEADER.encode() + b"\0" * 64, b"\0" * 64, HEADER.encode() + b"\0" * 63 + b"\n"):
        assert _incomplete(_write(tmp_path, content))


def test_a_review_longer_than_the_csv_modules_default_field_limit_is_read(tmp_path):
    # Python's csv module stops at 131,072 characters a field unless told otherwise.
    text = "lovely " * 30_000
    assert read_reviews(_write(tmp_path, HEADER + _row(1, text=text)))[TEXT].tolist() == [text]


def test_a_stored_drop_is_checked_for_everything_the_reader_refuses():
    # The check run on every stored drop (`valid_reviews`), which the reader's refusals predate.
    stored = pd.DataFrame(
        {
            REVIEW_ID: [1, 2, 2, 3],
            TEXT: ["Lovely", None, "Too small", " "],
            LABEL: [1, 0, 2, 1],
        }
    )
    assert validation_problems(stored) == [
        f"1 {LABEL} value(s) other than 0 or 1",
        f"1 repeated {REVIEW_ID}(s)",
        "50% of reviews have no text (more than 20%)",
    ]
    assert validation_problems(stored.drop(columns=[LABEL])) == [f"missing column(s): '{LABEL}'"]
    assert validation_problems(stored.iloc[:0]) == ["no review rows"]


def test_blank_texts_count_as_reviews_without_text(tmp_path):
    rows = _row(1, text='" "') + _row(2, text="   ") + _row(3) + _row(4)
    assert validation_problems(read_reviews(_write(tmp_path, HEADER + rows))) == [
        "50% of reviews have no text (more than 20%)"
    ]


def test_a_fifth_of_reviews_without_text_is_accepted_and_more_is_not(tmp_path):
    rows = _row(1, text="") + "".join(_row(i) for i in range(2, 6))  # 1 of 5: 20 %
    assert validation_problems(read_reviews(_write(tmp_path, HEADER + rows))) == []
    rows = _row(1, text="") + "".join(_row(i) for i in range(2, 5))  # 1 of 4: 25 %
    assert validation_problems(read_reviews(_write(tmp_path, HEADER + rows))) == [
        "25% of reviews have no text (more than 20%)"
    ]


def test_a_blank_review_in_a_file_of_one_column_is_a_row_without_text(tmp_path):
    # A line of only white space is that column's value (pandas alone skips it as a blank line,
    # and the file was refused as unparseable); an empty line is no record at all.
    path = _write(tmp_path, "Review Text\nnice dress\n   \n\t\n\nfine\n")
    reviews = read_reviews(path, require_label=False)
    assert reviews[TEXT].tolist() == ["nice dress", "   ", "\t", "fine"]
    assert reviews[REVIEW_ID].tolist() == [0, 1, 2, 3]


def test_nul_bytes(tmp_path):
    reason = _incomplete(_write(tmp_path, HEADER + _row(1) + "\0" * 8 + "\n"))
    assert reason.startswith(f"it has NUL bytes from byte offset {len(HEADER + _row(1))} ")


def _chunks(path: Path, rows: int, require_label: bool = True) -> list[pd.DataFrame]:
    with open_reviews(path) as stream:
        return list(review_chunks(stream, path, rows=rows, require_label=require_label))


def test_chunks_are_the_whole_file_cut_in_pieces(tmp_path):
    rows = [_row(i, text='"two\r\nlines"' if i % 3 else "plain") for i in range(10)]
    path = _write(tmp_path, HEADER + "".join(rows[:4]) + "\n" + "".join(rows[4:]))
    chunks = _chunks(path, rows=4)
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, read_reviews(path))


def test_rows_without_ids_are_numbered_across_chunks(tmp_path):
    path = _write(tmp_path, "Review Text\n" + "".join(f"review {i}\n" for i in range(5)))
    chunks = _chunks(path, rows=2, require_label=False)
    assert [chunk[REVIEW_ID].tolist() for chunk in chunks] == [[0, 1], [2, 3], [4]]


def test_a_broken_record_in_a_later_chunk_names_the_file_and_its_line(tmp_path):
    rows = [_row(i) for i in range(6)]
    rows[4] = _row(4, label="yes")
    path = _write(tmp_path, HEADER + "".join(rows))
    with open_reviews(path) as stream:
        chunks = review_chunks(stream, path, rows=3)
        assert len(next(chunks)) == 3  # the first chunk is fine and comes first
        with pytest.raises(ReviewFileError) as caught:
            next(chunks)
    assert str(caught.value) == (
        "reviews_test.csv: Recommended IND must be 0 or 1: 1 of the 3 rows starting on lines "
        "5-7 hold something else ('yes' (1x)): review_id 4 (line 6)"
    )


def test_an_id_repeated_chunks_apart_is_refused(tmp_path):
    path = _write(tmp_path, HEADER + "".join(_row(i) for i in (1, 2, 3, 4, 2, 7, 2)))
    with pytest.raises(ReviewFileError, match=r"duplicated review_id\(s\): 2 \(lines 3, 6\)$"):
        _chunks(path, rows=2)


# From shared/data/README.md: rows, null Review Text, Recommended IND = 1, first review id.
REAL_DROPS = {
    "reviews_2026-01.csv": (6000, 216, 4945, 0),
    "reviews_2026-02.csv": (6000, 211, 4942, 6000),
    "reviews_2026-03.csv": (6000, 222, 4930, 12000),
}


def test_real_drops_match_the_data_readme(real_drops):
    assert sorted(REAL_DROPS) == [path.name for path in real_drops]
    for path in real_drops:
        rows, null_texts, recommended, first_id = REAL_DROPS[path.name]
        reviews = read_reviews(path)
        assert list(reviews.columns) == [REVIEW_ID, *KAGGLE_COLUMNS]
        assert len(reviews) == rows
        assert reviews[TEXT].isna().sum() == null_texts
        assert reviews[LABEL].sum() == recommended
        assert reviews[REVIEW_ID].tolist() == list(range(first_id, first_id + rows))
        assert reviews[TEXT].str.contains("\r\n", regex=False).any()


def _cuts(data: bytes) -> dict[str, bytes]:
    """A real drop cut at different places, as a copy still in progress would be."""
    first_record = data.index(b"\n") + 1
    second_record = data.index(b"\n", first_record) + 1
    assert b'"' not in data[first_record:second_record]  # review 0 is a plain, unquoted row
    # In the real drops \r only occurs inside quoted, multi-line reviews.
    inside_quotes = data.index(b"\r\n") + 2
    return {
        "mid unquoted row": data[: first_record + 40],
        # pandas would read this one as a full last row whose Class Name is "Blo".
        "in the last field": data[:-5],
        "mid quoted review": data[: inside_quotes - 7],
        "after a line break inside a quoted review": data[:inside_quotes],
    }


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        ("mid unquoted row", "it does not end with a newline"),
        ("in the last field", "it does not end with a newline"),
        ("mid quoted review", "it does not end with a newline"),
        ("after a line break inside a quoted review", "it ends inside a quoted field"),
    ],
)
def test_a_truncated_real_drop_is_refused_as_incomplete(real_drops, tmp_path, cut, problem):
    path = _write(tmp_path, _cuts(real_drops[0].read_bytes())[cut])
    assert _incomplete(path).startswith(problem)


def test_a_real_drop_cut_between_records_is_a_shorter_complete_drop(real_drops, tmp_path):
    data = real_drops[0].read_bytes()
    third_record = data.index(b"\n", data.index(b"\n") + 1) + 1
    reviews = read_reviews(_write(tmp_path, data[:third_record]))
    assert reviews[REVIEW_ID].tolist() == [0]


def test_the_rows_shown_say_how_many_more_there_are() -> None:
    from sentiment_assets.model.review_schema import EXAMPLES, rows_text

    lines = list(range(2, EXAMPLES + 3))  # one more bad row than are shown
    shown = ", ".join(f"line {line}" for line in lines[:EXAMPLES])
    assert rows_text([True] * (EXAMPLES + 1), lines) == f"{shown} and 1 more"
    assert rows_text([True] * EXAMPLES, lines) == shown


LEASE_HOLDER = """
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
def give_back(*_):
    time.sleep(0.3)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
signal.signal(signal.SIGIO, give_back)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print("held", flush=True)
time.sleep(60)
"""


def test_a_file_another_process_holds_a_lease_on_is_read_once_given_back(tmp_path):
    """A Samba or NFS server's lease: the open waits for it, as a plain open does (opening
    without blocking, to refuse a named pipe, refused the file at once)."""
    import subprocess
    import sys

    path = _write(tmp_path, HEADER + _row(1) + _row(2))
    with open_reviews(path) as stream:  # opened without blocking, read as usual
        assert os.get_blocking(stream.fileno())
    holder = subprocess.Popen(
        [sys.executable, "-c", LEASE_HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        if holder.stdout.readline().strip() != "held":
            pytest.skip("no file lease here (the file system or the kernel refused one)")
        with open_reviews(path) as stream:
            assert os.get_blocking(stream.fileno())
            assert len(read_reviews(path)) == 2
    finally:
        holder.kill()
        holder.wait()
