"""Writing and restoring Compose files: drift checks, atomic writes, idempotence, all-or-nothing."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from unittest import mock

import pytest

from deployments.compose_file import (
    ComposeDriftError,
    ComposeFileError,
    ComposeWriteError,
    FileChange,
    ImageEdit,
    apply_edit,
    plan_tag_change,
    revert_edit,
)

ORIGINAL = b"services:\r\n  web:\r\n    image: app:1.0.0  # pinned by hand\r\n"
UPDATED = b"services:\r\n  web:\r\n    image: app:1.1.0  # pinned by hand\r\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_bytes(ORIGINAL)
    return tmp_path


def _plan(project: Path, tag: str = "1.1.0") -> ImageEdit:
    return plan_tag_change([str(project / "compose.yaml")], str(project), "web", tag)


def _listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _two_file_edit(project: Path) -> ImageEdit:
    """An edit touching two files, as apply/revert must support (built by hand: plans touch one)."""
    (project / "other.yaml").write_text("x: 1\n")
    changes = (
        FileChange.of(str(project / "compose.yaml"), ORIGINAL.decode(), UPDATED.decode()),
        FileChange.of(str(project / "other.yaml"), "x: 1\n", "x: 2\n"),
    )
    return ImageEdit("web", "app:1.0.0", "app:1.1.0", changes)


def test_apply_writes_only_the_planned_change(project: Path) -> None:
    apply_edit(_plan(project))

    assert (project / "compose.yaml").read_bytes() == UPDATED
    assert _listing(project) == ["compose.yaml"]


def test_drift_between_plan_and_apply_is_refused_and_nothing_written(project: Path) -> None:
    edit = _plan(project)
    users_edit = ORIGINAL + b"  db:\r\n    image: postgres:16\r\n"
    (project / "compose.yaml").write_bytes(users_edit)

    with pytest.raises(ComposeDriftError, match="changed on disk"):
        apply_edit(edit)

    assert (project / "compose.yaml").read_bytes() == users_edit
    assert _listing(project) == ["compose.yaml"]


def test_drift_in_any_file_writes_no_file(project: Path) -> None:
    edit = _two_file_edit(project)
    (project / "other.yaml").write_text("x: 7\n")

    with pytest.raises(ComposeDriftError, match=r"other\.yaml"):
        apply_edit(edit)

    assert (project / "compose.yaml").read_bytes() == ORIGINAL
    assert (project / "other.yaml").read_text() == "x: 7\n"


def test_edit_made_while_temp_files_are_written_is_not_overwritten(project: Path) -> None:
    edit = _plan(project)
    real_fsync = os.fsync
    users_edit = ORIGINAL.replace(b"1.0.0", b"0.9.0")

    def fsync_then_user_edits(fd: int) -> None:
        real_fsync(fd)
        if (project / "compose.yaml").read_bytes() != users_edit:
            (project / "compose.yaml").write_bytes(users_edit)

    with mock.patch("os.fsync", side_effect=fsync_then_user_edits), pytest.raises(ComposeDriftError):
        apply_edit(edit)

    assert (project / "compose.yaml").read_bytes() == users_edit
    assert _listing(project) == ["compose.yaml"]


def test_apply_twice_is_harmless(project: Path) -> None:
    edit = _plan(project)
    apply_edit(edit)

    apply_edit(edit)

    assert (project / "compose.yaml").read_bytes() == UPDATED


def test_plan_when_already_on_target_has_no_changes(project: Path) -> None:
    apply_edit(_plan(project))

    edit = _plan(project)

    assert edit.changes == ()
    assert (edit.old_image, edit.new_image) == ("app:1.1.0", "app:1.1.0")


def test_revert_restores_byte_identical_content(project: Path) -> None:
    edit = _plan(project)
    apply_edit(edit)

    revert_edit(edit)

    assert (project / "compose.yaml").read_bytes() == ORIGINAL


def test_revert_removes_env_file_it_created(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: app:${TAG:-1.0.0}\n")
    edit = plan_tag_change([str(tmp_path / "compose.yaml")], str(tmp_path), "web", "1.1.0")
    apply_edit(edit)
    assert (tmp_path / ".env").read_text() == "TAG=1.1.0\n"

    revert_edit(edit)

    assert _listing(tmp_path) == ["compose.yaml"]


def test_revert_after_user_edit_refuses_and_keeps_the_edit(project: Path) -> None:
    edit = _plan(project)
    apply_edit(edit)
    users_edit = UPDATED.replace(b"# pinned by hand", b"# edited after the update")
    (project / "compose.yaml").write_bytes(users_edit)

    with pytest.raises(ComposeDriftError, match="changed after the updater wrote it"):
        revert_edit(edit)

    assert (project / "compose.yaml").read_bytes() == users_edit


def test_revert_when_original_is_back_does_nothing(project: Path) -> None:
    edit = _plan(project)
    apply_edit(edit)
    revert_edit(edit)
    mtime = (project / "compose.yaml").stat().st_mtime_ns

    revert_edit(edit)

    assert (project / "compose.yaml").read_bytes() == ORIGINAL
    assert (project / "compose.yaml").stat().st_mtime_ns == mtime


def test_revert_of_never_applied_edit_does_nothing(project: Path) -> None:
    revert_edit(_plan(project))

    assert (project / "compose.yaml").read_bytes() == ORIGINAL


def test_apply_keeps_file_mode(project: Path) -> None:
    os.chmod(project / "compose.yaml", 0o640)

    apply_edit(_plan(project))

    assert stat.S_IMODE((project / "compose.yaml").stat().st_mode) == 0o640


def test_new_env_file_is_readable_by_compose(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: app:${TAG:-1.0.0}\n")

    apply_edit(plan_tag_change([str(tmp_path / "compose.yaml")], str(tmp_path), "web", "1.1.0"))

    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o644


def test_apply_writes_through_a_symlink_and_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "compose.yaml").write_bytes(ORIGINAL)
    (tmp_path / "compose.yaml").symlink_to(tmp_path / "real" / "compose.yaml")

    apply_edit(plan_tag_change([str(tmp_path / "compose.yaml")], str(tmp_path), "web", "1.1.0"))

    assert (tmp_path / "compose.yaml").is_symlink()
    assert (tmp_path / "real" / "compose.yaml").read_bytes() == UPDATED


def test_disk_full_leaves_original_intact_and_no_temp_file(project: Path) -> None:
    edit = _plan(project)
    disk_full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with mock.patch("os.write", side_effect=disk_full), pytest.raises(ComposeWriteError, match="No space left"):
        apply_edit(edit)

    assert (project / "compose.yaml").read_bytes() == ORIGINAL
    assert _listing(project) == ["compose.yaml"]


def test_failed_rename_of_second_file_puts_the_first_back(project: Path) -> None:
    edit = _two_file_edit(project)
    real_replace = os.replace
    calls = []

    def replace_failing_second(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_replace(src, dst)

    with mock.patch("os.replace", side_effect=replace_failing_second), pytest.raises(ComposeWriteError) as caught:
        apply_edit(edit)

    assert "no file was changed" in str(caught.value)
    assert (project / "compose.yaml").read_bytes() == ORIGINAL
    assert (project / "other.yaml").read_text() == "x: 1\n"
    assert _listing(project) == ["compose.yaml", "other.yaml"]


def test_multi_file_apply_and_revert_round_trip(project: Path) -> None:
    edit = _two_file_edit(project)

    apply_edit(edit)
    assert ((project / "compose.yaml").read_bytes(), (project / "other.yaml").read_text()) == (UPDATED, "x: 2\n")

    revert_edit(edit)
    assert ((project / "compose.yaml").read_bytes(), (project / "other.yaml").read_text()) == (ORIGINAL, "x: 1\n")


@pytest.mark.parametrize("tag", ["1.0;rm -rf /", "1.0.0\n", "../etc", "\u217catest", "", "-1", "a" * 129])
def test_invalid_tag_is_refused_before_any_file_is_read(tmp_path: Path, tag: str) -> None:
    with pytest.raises(ComposeFileError, match="invalid tag"):
        plan_tag_change([str(tmp_path / "missing.yaml")], str(tmp_path), "web", tag)


def test_backup_survives_json_round_trip(project: Path) -> None:
    edit = _plan(project)

    assert ImageEdit.from_json(edit.to_json()) == edit


def test_tampered_backup_is_refused(project: Path) -> None:
    data = _plan(project).to_json()
    data["changes"][0]["before"] = "services: {}\n"

    with pytest.raises(ComposeFileError, match="corrupt"):
        ImageEdit.from_json(data)


def test_file_texts_stay_out_of_repr(tmp_path: Path) -> None:
    change = FileChange.of(str(tmp_path / ".env"), "DB_PASSWORD=hunter2\nTAG=1\n", "DB_PASSWORD=hunter2\nTAG=2\n")

    assert "hunter2" not in repr(change)
    assert "hunter2" not in repr(ImageEdit("web", "a:1", "a:2", (change,)))
