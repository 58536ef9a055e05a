"""The board row as HTML, in Python: the one fragment rendered hundreds of times per page.

Django's template engine costs about 0.45 ms per row of twenty plain variables on the reference
machine, so a 500-service board could not render in 150 ms through a template. This function is the
row's single definition: the board template calls it through `{% board_row %}` (inside its `row`
partial) and `broadcast` calls it for pushes, so both are identical. Everything is escaped by
`html.escape`.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from dashboard.templatetags.dashboard import describe_age
from deployments.models import Service
from deployments.selectors import BoardRow
from scanning.models import ScanReport
from scanning.templatetags.scanning import scan_chip_html

NO_CHIP = '<span class="muted">—</span>'


@lru_cache(maxsize=1)
def _urls() -> dict[str, str]:
    """URL prefixes, reversed once: `{prefix}{id}/…` is what `reverse` would build."""
    service = reverse("dashboard:service", args=[0])
    return {"service": service[: -len("0/")]}


def _e(value: object) -> str:
    """Escape for text and quoted attributes (the stdlib's, without Django's lazy-string wrapper)."""
    return escape(str(value), quote=True)


def icon(name: str) -> str:
    return f'<svg class="icon" aria-hidden="true"><use href="#i-{_e(name)}"></use></svg>'


def board_row_html(
    row: BoardRow, *, can_operate: bool, csrf_token: str = "", oob: bool = False, scan: ScanReport | None = None
) -> SafeString:
    service = row.service
    style = row.style
    classes = f"svc state-{style.key}" + (" needs-attention" if style.attention else "")
    detail = (
        f'<small class="detail" title="{_e(row.detail)}">{_e(_truncate(row.detail, 90))}</small>' if row.detail else ""
    )
    actions = _approval(row, csrf_token) if can_operate and row.awaiting_approval else ""
    oob_attribute = ' hx-swap-oob="true"' if oob else ""
    html = (
        f'<tr id="svc-{service.pk}" class="{_e(classes)}" data-state="{_e(style.key)}"{oob_attribute}>'
        f'<td class="c-state" data-label="State"><span class="badge badge-{_e(style.key)}">{icon(style.icon)}'
        f"<span>{_e(row.label)}</span></span>{detail}</td>"
        f'<td class="c-name" data-label="Service"><a class="svc-link" href="{_urls()["service"]}{service.pk}/">'
        f'{_e(service.name)}</a><small class="mono muted">{_e(service.repository or service.image)}</small></td>'
        f'<td class="c-current" data-label="Running">{_current(service)}</td>'
        f'<td class="c-available" data-label="Available">{_available(service)}</td>'
        f'<td class="c-checked" data-label="Checked">{_checked(service)}</td>'
        f'<td class="c-vuln" data-label="Vulnerabilities">{scan_chip_html(scan)}</td>'
        f'<td class="c-actions">{actions}</td></tr>'
    )
    return mark_safe(html)  # noqa: S308 - every value above is escaped


def _current(service: Service) -> str:
    tag = f'<span class="tag">{_e(service.current_tag or "—")}</span>'
    if not service.current_digest:
        return tag
    digest = _e(service.current_digest)
    return f'{tag}<small class="mono muted" title="{digest}">{_e(service.current_digest[:19])}</small>'


def _available(service: Service) -> str:
    digest = _e(service.available_digest)
    digest_line = f'<small class="mono muted" title="{digest}">{_e(service.available_digest[:19])}</small>'
    if service.available_tag and service.available_tag != service.current_tag:
        # The digest is known when the update waits for an approval: the image that will be deployed.
        return f'<span class="tag tag-new">{_e(service.available_tag)}</span>{digest_line if digest else ""}'
    if service.available_digest and service.available_digest != service.current_digest:
        return f'<span class="tag tag-new">new digest</span>{digest_line}'
    return NO_CHIP


def _checked(service: Service) -> str:
    if not service.last_checked_at:
        return '<span class="muted">never</span>'
    age = int((timezone.now() - service.last_checked_at).total_seconds())
    return f'<time datetime="{service.last_checked_at.isoformat()}" data-ago>{describe_age(age)}</time>'


def _approval(row: BoardRow, csrf_token: str) -> str:
    service = row.service
    base = f"{_urls()['service']}{service.pk}"
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">' if csrf_token else ""
    tag = _e(service.available_tag)
    floating_digest = service.available_digest if service.available_tag == service.current_tag else ""
    short = _e(service.available_digest[:19])
    return (
        '<div class="approval">'
        f'<form method="post" action="{base}/approve/" hx-post="{base}/approve/" hx-swap="none">{csrf}'
        f'<input type="hidden" name="tag" value="{tag}">'
        f'<input type="hidden" name="digest" value="{_e(service.available_digest)}">'
        f'<input type="hidden" name="generation" value="{service.deploy_generation}">'
        f'<button type="submit" class="btn btn-approve btn-sm" title="Deploy {tag} {short}">'
        f"{icon('check')}<span>Approve</span></button></form>"
        f'<form method="post" action="{base}/dismiss/" hx-post="{base}/dismiss/" hx-swap="none">{csrf}'
        f'<input type="hidden" name="tag" value="{tag}">'
        f'<input type="hidden" name="digest" value="{_e(floating_digest)}">'
        f'<button type="submit" class="btn btn-ghost btn-sm" title="Ignore {tag}: it will not be offered again">'
        f"{icon('x')}<span>Dismiss</span></button></form></div>"
    )


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
