"""The eval reports: the margin line they share, and `--render` (reports rewritten from their JSON after
a notes edit, without rerunning the eval)."""

import json
import shutil

import pytest

from benchmarks import harness, passages, sections
from benchmarks.datasets import REPO

EVAL_DOCS = REPO / "docs" / "eval"


def test_the_margin_is_the_hybrid_minus_the_better_single_mode_per_score():
    modes = {
        "keyword": {"hit@1": 0.70, "hit@5": 0.90},
        "vector": {"hit@1": 0.60, "hit@5": 0.95},
        "hybrid": {"hit@1": 0.75, "hit@5": 0.93},
    }
    assert harness.margin_line(modes, ("hit@1", "hit@5")) == "hit@1 +0.050, hit@5 -0.020"


@pytest.mark.parametrize(
    ("module", "data", "report", "notes"),
    [
        (sections, "sections_results.json", "sections.md", "sections_notes.md"),
        (passages, "passages.json", "passages.md", "passages_notes.md"),
    ],
)
def test_render_rewrites_the_report_from_its_json_with_the_current_notes(tmp_path, module, data, report, notes):
    shutil.copy(EVAL_DOCS / data, tmp_path / data)
    module.main(["--render", "--out", str(tmp_path)])
    text = (tmp_path / report).read_text(encoding="utf-8")
    result = json.loads((tmp_path / data).read_text(encoding="utf-8"))
    assert (REPO / "benchmarks" / notes).read_text(encoding="utf-8").rstrip() in text
    assert result["machine"]["git_commit"] in text and "hybrid minus the better single mode" in text.lower()
