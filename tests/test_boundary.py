"""The neutral layer under training and render: one importer of a user's .py file."""

import sys

import pytest

from lossfilm.boundary.user_file import import_user_file
from lossfilm.format.errors import ConfigError


def test_two_files_of_one_name_in_two_folders_are_two_modules_and_may_import_their_neighbours(tmp_path):
    for folder, value in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "neighbour.py").write_text(f"VALUE = {value}\n")
        (tmp_path / folder / "loss.py").write_text("import neighbour\nVALUE = neighbour.VALUE\n")
        sys.modules.pop("neighbour", None)  # each folder's own neighbour
        module = import_user_file(tmp_path / folder / "loss.py", prefix="lossfilm_test_", label="loss.py")
        assert module.VALUE == value
    first = sys.modules["lossfilm_test_loss"]
    assert first.VALUE == 1  # not replaced by b/loss.py, which got a name of its own
    assert str(tmp_path / "a") not in sys.path  # the folder was on the path only while importing


def test_a_file_that_fails_says_its_line_in_one_line_and_leaves_no_module(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("x = 1\ny = 1 / 0\n")
    with pytest.raises(ConfigError, match=r"broken.py, line 2: fails on import \(ZeroDivisionError"):
        import_user_file(path, prefix="lossfilm_test_", label=str(path))
    assert "lossfilm_test_broken" not in sys.modules
