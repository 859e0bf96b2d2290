"""Fixtures for the import tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from loxodon.channels.imports.tests.files import write_csv


@pytest.fixture
def centre_file(tmp_path: Path) -> Callable[..., Path]:
    def make(rows: Sequence[Sequence[str]], name: str = "centre.csv", **kw: Any) -> Path:
        return write_csv(tmp_path / name, rows, **kw)

    return make
