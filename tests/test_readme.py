"""The README's commands are the ones CI runs, and its test command tests the source a contributor
edits: an editable install (``pip install -e``), not a copy of ``src/`` made once."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_test_command_is_an_editable_install_and_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in re.findall(r"```bash\n(.*?)```", readme, flags=re.S) for line in line.splitlines()]
    test = [c for c in commands if "pytest" in c]
    assert len(test) == 1, test
    assert re.search(r"pip install -e \"\.\[test\]\"", test[0]), test[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == test[0].strip()
