"""The import CLI: same import against the service database, exit code 2 for a bad file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

from tanso_factors.domain.catalogue_files import DATA_ROOT
from tanso_factors.entrypoints import cli

CURRENT_FUELS = DATA_ROOT / "jp-shk-fuels" / "R6-2024"


def _outbox_rows(settings) -> int:
    with sqlite3.connect(settings.database.url.removeprefix("sqlite+aiosqlite:///")) as conn:
        return conn.execute("select count(*) from outbox").fetchone()[0]


def test_import_writes_the_outbox_and_a_second_run_changes_nothing(settings, capsys):
    assert cli.main(["import", str(CURRENT_FUELS)], settings) == 0
    out = capsys.readouterr().out
    assert "jp-shk-fuels R6-2024: 36 new, 0 changed, 0 unchanged" in out and "36/36 rows (100%)" in out
    assert _outbox_rows(settings) == 36

    assert cli.main(["import-all"], settings) == 0
    out = capsys.readouterr().out
    assert "jp-shk-fuels R6-2024: 0 new, 0 changed, 36 unchanged" in out
    assert "jp-shk-fuels H22-2010: 11 new" in out


def test_a_malformed_file_exits_2_naming_the_row(settings, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(CURRENT_FUELS, folder)
    csv = folder / "factors.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",2.75,", ",2.75t,"), encoding="utf-8")
    env = {**os.environ, "TANSO_FACTORS_DATA_DIR": str(tmp_path / "data")}

    result = subprocess.run([sys.executable, "-m", "tanso_factors.entrypoints.cli", "import", str(folder)],
                            check=False, capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 2, result.stderr
    assert "row 4 (line 5), column 'value'" in result.stderr and "'2.75t'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert not (tmp_path / "data" / "factors.sqlite3").exists()
