"""log2_histogram draws what bcc's print_log2_hist draws."""

from __future__ import annotations

from pybpf.core import log2_histogram


def test_bcc_layout() -> None:
    text = log2_histogram([0, 0, 0, 5, 10], label="usecs")
    assert text.splitlines() == [
        "     usecs               : count     distribution",
        "         0 -> 1          : 0        |                                        |",
        "         2 -> 3          : 0        |                                        |",
        "         4 -> 7          : 5        |********************                    |",
        "         8 -> 15         : 10       |****************************************|",
    ]


def test_skip_leading_zeros_and_mappings() -> None:
    text = log2_histogram({4: 10, 3: 5}, label="usecs", skip_leading_zeros=True)
    assert [line.split(":")[0].strip() for line in text.splitlines()[1:]] == ["4 -> 7", "8 -> 15"]


def test_wide_histograms_use_bcc_wide_columns() -> None:
    slots = [0] * 40
    slots[39] = 1
    lines = log2_histogram(slots, label="nsecs").splitlines()
    assert lines[0].startswith(" " * 15 + "nsecs")
    assert lines[-1] == f"{1 << 38:>20} -> {(1 << 39) - 1:<20} : 1        |{'*' * 20}|"


def test_empty() -> None:
    assert log2_histogram([]) == ""
    assert log2_histogram([0, 0]) == ""
    assert log2_histogram([3]).splitlines()[1].startswith("         0 -> 1          : 3")
