"""Small, fast template helpers for the dashboard (they run once per board row)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.template import Context
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An icon from the page's SVG sprite; decorative unless given a label."""
    if label:
        return format_html('<svg class="icon" role="img" aria-label="{}"><use href="#i-{}"></use></svg>', label, name)
    return format_html('<svg class="icon" aria-hidden="true"><use href="#i-{}"></use></svg>', name)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "12 s ago", "4 min ago", "3 h ago", "2 d ago" (the page's script keeps it current)."""
    if moment is None:
        return "never"
    seconds = int((timezone.now() - moment).total_seconds())
    return describe_age(seconds)


def describe_age(seconds: int) -> str:
    if seconds < 5:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


@register.filter
def iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


@register.filter
def short_digest(digest: str) -> str:
    """`sha256:0123456789ab` — enough to tell images apart; the full digest goes in a title."""
    return digest[:19] if digest else ""


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def board_row(context: Context, row: object) -> SafeString:
    """One board row (see `dashboard.rows`: rendered in Python, it is the board's hot path)."""
    from dashboard.rows import board_row_html

    scans = context.get("scans") or {}
    return board_row_html(
        row,  # type: ignore[arg-type]
        can_operate=bool(context.get("can_operate")),
        csrf_token=str(context.get("csrf_token") or ""),
        oob=bool(context.get("oob")),
        scan=scans.get(row.service.pk),  # type: ignore[attr-defined]
    )
