"""Golden-file tests for the Compose file editor, in the style of Flux's `original/` → `expected/` fixtures.

Each directory under `compose_cases/` holds `original/` (the project as the user wrote it), `case.json`
(service, new tag, `-f` order, optional environ) and either `expected/` (the whole project after the
update, byte for byte) or an `error` substring the refusal must contain, with nothing written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deployments.compose_file import (
    ComposeFileError,
    ImageEdit,
    apply_edit,
    plan_tag_change,
    revert_edit,
    service_image,
)

CASES_DIR = Path(__file__).parent / "compose_cases"
CASES = sorted(path.name for path in CASES_DIR.iterdir() if path.is_dir())
EDIT_CASES = [name for name in CASES if (CASES_DIR / name / "expected").is_dir()]
REFUSED_CASES = [name for name in CASES if name not in EDIT_CASES]


def _spec(name: str) -> dict:
    return json.loads((CASES_DIR / name / "case.json").read_text())


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too, so a stray temp file fails the comparison)."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _project(name: str, tmp_path: Path) -> tuple[Path, dict]:
    project = tmp_path / "project"
    shutil.copytree(CASES_DIR / name / "original", project)
    return project, _spec(name)


def _plan(project: Path, spec: dict) -> ImageEdit:
    return plan_tag_change(
        [str(project / file) for file in spec["files"]],
        str(project),
        spec["service"],
        spec["new_tag"],
        environ=spec.get("environ", {}),
    )


def test_every_case_is_well_formed() -> None:
    assert len(CASES) >= 30
    for name in CASES:
        spec = _spec(name)
        assert (CASES_DIR / name / "original").is_dir(), name
        assert ("error" in spec) == (name in REFUSED_CASES), name


@pytest.mark.parametrize("name", EDIT_CASES)
def test_edit_matches_expected_tree(name: str, tmp_path: Path) -> None:
    project, spec = _project(name, tmp_path)
    original = _tree(project)
    expected = _tree(CASES_DIR / name / "expected")

    edit = _plan(project, spec)
    assert (edit.old_image, edit.new_image) == (spec["old_image"], spec["new_image"])
    assert _tree(project) == original, "planning must not write"
    assert {str(Path(change.path).relative_to(project)) for change in edit.changes} == _changed(original, expected)

    apply_edit(edit)
    assert _tree(project) == expected
    files = [str(project / file) for file in spec["files"]]
    assert service_image(files, str(project), spec["service"], environ=spec.get("environ", {})) == spec["new_image"]


@pytest.mark.parametrize("name", EDIT_CASES)
def test_planning_again_after_apply_changes_nothing(name: str, tmp_path: Path) -> None:
    project, spec = _project(name, tmp_path)
    apply_edit(_plan(project, spec))

    assert _plan(project, spec).changes == ()


@pytest.mark.parametrize("name", EDIT_CASES)
def test_revert_from_stored_backup_restores_original_bytes(name: str, tmp_path: Path) -> None:
    project, spec = _project(name, tmp_path)
    original = _tree(project)
    edit = _plan(project, spec)
    stored = json.loads(json.dumps(edit.to_json()))
    apply_edit(edit)

    revert_edit(ImageEdit.from_json(stored))

    assert _tree(project) == original


@pytest.mark.parametrize("name", REFUSED_CASES)
def test_refused_with_reason_and_nothing_written(name: str, tmp_path: Path) -> None:
    project, spec = _project(name, tmp_path)
    original = _tree(project)

    with pytest.raises(ComposeFileError) as caught:
        _plan(project, spec)

    assert spec["error"] in str(caught.value)
    assert "\n" not in str(caught.value)
    assert _tree(project) == original


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
