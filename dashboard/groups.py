"""Names of the channel-layer groups the live dashboard uses: the one place they are spelled.

Pages whose HTML depends on the role (controls shown or not) have one group per variant, so a
pushed fragment never shows a viewer a button the server would refuse.
"""

from __future__ import annotations

BOARD_VIEW = "board.view"
BOARD_OPERATE = "board.operate"


def board(*, can_operate: bool) -> str:
    return BOARD_OPERATE if can_operate else BOARD_VIEW


def service(service_id: int, *, can_operate: bool) -> str:
    return f"service.{service_id}.{'operate' if can_operate else 'view'}"


def run(run_id: int) -> str:
    return f"run.{run_id}"


def for_page(page: str, object_id: int | None, *, can_operate: bool) -> list[str]:
    """The groups a browser showing `page` joins."""
    if page == "board":
        return [board(can_operate=can_operate)]
    if page == "service" and object_id is not None:
        return [service(object_id, can_operate=can_operate)]
    if page == "run" and object_id is not None:
        return [run(object_id)]
    return []
