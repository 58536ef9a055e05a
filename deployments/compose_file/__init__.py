"""The Compose file editor: change one service's image tag and nothing else, or refuse and say why.

No Django and no Docker here: plain files in, plain files out. See docs/compose-editing.md for what
is edited, what is refused and why.

    edit = plan_tag_change(config_files, working_dir, "web", "1.2.0")   # reads, computes, checks
    store(edit.to_json())                                               # the backup, before writing
    apply_edit(edit)                                                    # drift-checked, atomic
    ...
    revert_edit(ImageEdit.from_json(stored))                            # only over our own write
"""

from deployments.compose_file.errors import ComposeDriftError, ComposeFileError, ComposeWriteError
from deployments.compose_file.planning import plan_tag_change, service_image
from deployments.compose_file.records import FileChange, ImageEdit
from deployments.compose_file.writing import apply_edit, revert_edit

__all__ = [
    "ComposeDriftError",
    "ComposeFileError",
    "ComposeWriteError",
    "FileChange",
    "ImageEdit",
    "apply_edit",
    "plan_tag_change",
    "revert_edit",
    "service_image",
]
