"""Extensions from outside the package: `--plugin PATH_OR_MODULE` and the `disbench.plugins`
entry-point group. The example of docs/adding-a-model-entry.md, saved in a separate folder
under another name, is found, listed and validated without touching the package."""

import importlib.metadata
import os
import re
from pathlib import Path

import pytest

from benchmark import plugins
from benchmark.cli.main import main
from benchmark.models.registry import MODELS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "adding-a-model-entry.md"


def _docs_entry(name: str) -> str:
    """docs/adding-a-model-entry.md's example, registered as `name`."""
    text = PAGE.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert '@register_model("beta_vae_free_bits")' in code
    return code.replace('"beta_vae_free_bits"', f'"{name}"')


@pytest.fixture
def clean(fresh_plugins):
    """Fresh plugin state (conftest); the test's model entries are removed after it."""
    yield
    for name in ("my_free_bits", "my_free_bits_ep"):
        MODELS.remove(name)


def test_the_docs_entry_works_from_a_separate_folder(tmp_path, capsys, clean):
    folder = tmp_path / "my_research"
    folder.mkdir()
    entry = folder / "my_entry.py"
    entry.write_text(_docs_entry("my_free_bits"), encoding="utf-8")
    assert main(["--plugin", str(entry), "list", "models"]) == 0
    assert "my_free_bits" in capsys.readouterr().out
    task = folder / "task.yaml"
    shipped = Path(__file__).resolve().parent.parent / "tasks" / "defaults.yaml"
    task.write_text(
        f"name: mine\ninclude: {shipped}\nseeds: [0]\n"
        "models:\n  - {entry: my_free_bits, args: {free_bits: 0.5}}\n"
        "training: {steps: 10}\nleaderboard: {rows: [entry, free_bits], plot_against: free_bits}\n",
        encoding="utf-8",
    )
    assert main(["--plugin", str(entry), "validate", str(task)]) == 0
    # Worker processes read the plugins from the environment, as an absolute path.
    assert os.environ[plugins.ENVIRONMENT] == str(entry.resolve())


def test_a_broken_plugin_is_one_line_naming_it(tmp_path, capsys, clean):
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_anywhere\n", encoding="utf-8")
    assert main(["--plugin", str(broken), "list", "models"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken.py" in err and "ModuleNotFoundError" in err
    assert main(["--plugin", str(tmp_path / "missing.py"), "list", "models"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_installed_packages_register_through_the_entry_point_group(
    tmp_path, monkeypatch, capsys, clean
):
    (tmp_path / "my_ep_models.py").write_text(_docs_entry("my_free_bits_ep"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = importlib.metadata.EntryPoint(
        name="mine", value="my_ep_models", group=plugins.ENTRY_POINT_GROUP
    )
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):
        if kwargs.get("group") == plugins.ENTRY_POINT_GROUP:
            return [point]
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert main(["list", "models"]) == 0
    assert "my_free_bits_ep" in capsys.readouterr().out
