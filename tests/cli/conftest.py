"""Shared check of the bad-input suite: a command with bad input exits 2 with one line on stderr, prints nothing on
stdout and writes nothing to disk (it runs in an empty working folder that must stay empty)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from vo2neuro.cli import main


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def bad_input(tmp_path, monkeypatch, capsys) -> Callable[..., str]:
    """``bad_input(argv, *fragments)``: run ``vo2neuro argv`` in an empty folder and assert the bad-input contract;
    every fragment must appear in the error line (case-insensitive). Returns the error line.

    Files the test prepared beforehand (inputs) are allowed; nothing new may appear.
    """
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def run(argv: list[str], *fragments: str, inputs: dict[str, str | bytes] | None = None) -> str:
        for name, content in (inputs or {}).items():
            f = work / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(content if isinstance(content, bytes) else content.encode())
        before = _tree(work)
        capsys.readouterr()
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors exit through SystemExit
            rc = exc.code
        out, err = capsys.readouterr()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 2, f"{argv}: exit {rc}, stderr: {err[-500:]}"
        assert out == "", f"{argv}: stdout not empty: {out[:300]!r}"
        assert len(lines) == 1, f"{argv}: expected one stderr line, got {len(lines)}: {err[-800:]}"
        assert "Traceback" not in err
        after = _tree(work)
        assert after == before, f"{argv}: left files behind: {sorted(set(after) - set(before))}"
        for frag in fragments:
            assert frag.lower() in lines[0].lower(), f"{argv}: {frag!r} not in {lines[0]!r}"
        return lines[0]

    return run


@pytest.fixture
def unwritable() -> tuple[str, dict[str, str]]:
    """``(path, inputs)``: an output path nobody can create, root included (its parent is a regular file that the
    test writes as an input). Use as ``path, files = unwritable; bad_input([... "-o", path], inputs=files)``."""
    return "blocker/out.json", {"blocker": "x"}
