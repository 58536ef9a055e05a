from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from deployments import selectors
from deployments.management.commands._base import OpsCommand
from scanning import services
from scanning.models import ScanReport
from scanning.report import KIND_LABELS, KINDS, SEVERITIES


class Command(OpsCommand):
    help = "Scan the image PROJECT/SERVICE runs now with Trivy (in this process unless --queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="PROJECT/SERVICE")
        parser.add_argument(
            "--fresh", action="store_true", help="scan again even if a recent scan of this image exists"
        )
        parser.add_argument("--queue", action="store_true", help="hand the scan to a Celery worker and return")

    def handle(self, *args: object, **options: object) -> None:
        try:
            service = selectors.service_by_key(options["service"])
            report = services.scan_request(service, fresh=options["fresh"], queue=options["queue"])
        except (selectors.ServiceNotFound, services.ScanRequestError) as exc:
            raise CommandError(str(exc)) from None
        if options["queue"] and report.is_active:
            self.stdout.write(f"queued scan {report.pk} of {report.image_reference or report.image_id}")
            return
        reused = report.status == ScanReport.Status.SUCCEEDED
        if report.status == ScanReport.Status.PENDING:
            services.scan_execute(report.pk, wait_for_slot=settings.SCAN_TIMEOUT)
        report.refresh_from_db()
        if report.status != ScanReport.Status.SUCCEEDED:
            raise CommandError(f"scan {report.pk} {report.status}: {report.error or 'not finished yet'}")
        when = f" (reusing the scan of {report.finished_at:%Y-%m-%d %H:%M})" if reused else ""
        self.stdout.write(f"scan {report.pk} of {report.image_reference}{when}: {describe_counts(report)}")
        self.stdout.write(f"report: /scans/{report.pk}/")


def describe_counts(report: ScanReport) -> str:
    parts = []
    for kind in KINDS:
        counts = report.counts.get(kind, {})
        found = [f"{counts[sev]} {sev.lower()}" for sev in SEVERITIES if counts.get(sev)]
        if found:
            parts.append(f"{KIND_LABELS[kind]}: {', '.join(found)}")
    return "; ".join(parts) or "no findings"
