"""The project's own conventions: dependencies in step, generated files in sync, notebooks clean."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import nbformat
import yaml

from workbench.data.schema import data_dictionary_markdown

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_runtime_dependencies_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    from_env = {_name(r): r.replace(" ", "") for r in pip_list if not r.startswith("-e")}
    from_project = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    assert from_env == from_project


def test_constraints_pin_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {_name(line.split("==")[0]) for line in (ROOT / "constraints.txt").read_text().splitlines()
              if "==" in line}
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    assert wanted <= pinned, f"not pinned in constraints.txt: {sorted(wanted - pinned)}"


def test_data_dictionary_is_generated_from_the_model() -> None:
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == data_dictionary_markdown(), "run `make dictionary` and commit docs/data-dictionary.md"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_notebooks_are_clean_tagged_and_built_from_their_source() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mknb", ROOT / "tools" / "mknb.py")
    mknb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mknb)
    assert _notebooks(), "no notebooks found"
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.get("outputs") for c in code), f"{path.name} has committed outputs"
        assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell not tagged"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        source = ROOT / "notebooks" / "src" / f"{path.stem}.py"
        assert source.exists(), f"{path.name} has no source in notebooks/src"
        built = mknb.build(source.read_text(encoding="utf-8"))
        assert json.loads(nbformat.writes(built)) == json.loads(nbformat.writes(nb)), \
            f"{path.name} differs from notebooks/src/{path.stem}.py; run `make notebooks`"
