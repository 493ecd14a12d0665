"""The spreadsheet-damage detector shared by the loader and the importers."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from workbench.data.excel import EXPORT_AGAIN, detect_damaged_ids


def _ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [str(rng.randrange(10**18, 10**19)) for _ in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_intact_long_ids_pass(seed: int) -> None:
    assert detect_damaged_ids(_ids(5000, seed)) is None


def test_short_and_sequential_ids_pass() -> None:
    assert detect_damaged_ids([f"O{i:07d}" for i in range(1, 2000)]) is None
    assert detect_damaged_ids([str(i) for i in range(1, 2000)]) is None
    assert detect_damaged_ids([None, "", float("nan")]) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cut_to_15_digits(seed: int) -> None:
    ids = _ids(1000, seed)
    cut = [i[:15] + "0" * (len(i) - 15) for i in ids]
    found = detect_damaged_ids(cut)
    assert found is not None and found.kind == "truncated"
    assert found.count == 1000 and found.total == 1000
    assert found.positions[:3] == (0, 1, 2)
    assert "15 significant digits" in found.message and found.fix == EXPORT_AGAIN
    # as pandas reads them back from such a CSV: numbers with '.0', or floats
    assert detect_damaged_ids([c + ".0" for c in cut]).kind == "truncated"
    assert detect_damaged_ids(pd.Series([float(c) for c in cut])).kind == "truncated"


def test_a_few_zero_endings_among_intact_ids_pass() -> None:
    ids = _ids(1000, 7)
    ids[:3] = [i[:15] + "0000" for i in ids[:3]]
    assert detect_damaged_ids(ids) is None


def test_scientific_notation() -> None:
    ids = _ids(100, 4)
    ids[10:20] = ["1.23457E+18"] * 10
    found = detect_damaged_ids(ids)
    assert found.kind == "scientific" and found.count == 10 and found.positions[0] == 10
    assert "1.23457E+18" in found.message


def test_wrapper_left_in_values() -> None:
    found = detect_damaged_ids(['="4032781562839201234"', "4032781562839201235", "'4032781562839201236"])
    assert found.kind == "wrapper" and found.count == 2 and found.positions == (0, 2)


def test_lost_leading_zeros() -> None:
    ids = [f"{i:06d}" for i in range(1, 500)]  # 000001 ... 000499: all zero-led
    ids += [str(i) for i in range(1, 100)]  # the same scheme without its zeros
    found = detect_damaged_ids(ids)
    assert found.kind == "leading_zeros" and found.count == 99
