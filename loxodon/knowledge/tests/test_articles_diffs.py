"""`knowledge.diffs`: line and word diffs, escaped, with unchanged runs folded."""

from __future__ import annotations

from loxodon.knowledge.diffs import diff_lines, diff_words, policy_lines


def test_changed_words_marked_and_everything_escaped() -> None:
    html = diff_words("Return within 30 days <b>now</b>", "Return within 45 days <b>now</b>")
    assert html == "Return within <del>30</del><ins>45</ins> days &lt;b&gt;now&lt;/b&gt;"


def test_a_rewritten_line_is_shown_whole() -> None:
    assert diff_words("2026-05-03", "2027-06-30") == "<del>2026-05-03</del> <ins>2027-06-30</ins>"


def test_added_removed_and_folded_lines() -> None:
    old = "\n".join(["intro", *[f"same {n}" for n in range(10)], "gone <script>", "end"])
    new = "\n".join(["intro", *[f"same {n}" for n in range(10)], "end", "added & new"])
    lines = diff_lines(old, new)
    kinds = [line.kind for line in lines]
    assert kinds == ["skipped", "same", "same", "same", "removed", "same", "added"]
    assert lines[0].html == "8 unchanged lines"
    assert lines[4].html == "<del>gone &lt;script&gt;</del>" and lines[4].old_number == 12
    assert lines[6].html == "<ins>added &amp; new</ins>" and lines[6].new_number == 13
    assert all(line.kind == "same" for line in diff_lines("a\nb", "a\nb"))


def test_policy_reads_like_the_table() -> None:
    text = policy_lines(
        {
            "parameters": [
                {"key": "w", "label": "Window", "type": "days", "value": 30, "unit": "",
                 "authority": {"agent": 15.0, "supervisor": 60}},
            ]
        }
    )  # fmt: skip
    assert text == "Window [w, days]: 30 days · authority: agent 15, supervisor 60"
    assert policy_lines(None) == "(not a policy)"
