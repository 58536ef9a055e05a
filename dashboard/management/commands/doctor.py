"""`manage.py doctor`: run every health check now, one line each with the fix; exit 1 if one failed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboard.health import checks

MARKS = {checks.OK: "ok  ", checks.FAILED: "FAIL", checks.SKIPPED: "--  "}


class Command(BaseCommand):
    help = "Check Docker, Compose, Redis, the database, disks, stored secrets and the clock; exit 1 on a failure."

    def handle(self, *args: object, **options: object) -> None:
        results = checks.run_all()
        for result in results:
            line = f"{MARKS[result.status]} {result.label:<12} {result.summary}"
            if result.failed and result.fix:
                line += f"\n     {'':<12} fix: {result.fix}"
            self.stdout.write(line)
        self._record(results)
        failed = [result.label for result in results if result.failed]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}", returncode=1)
        self.stdout.write("All checks passed.")

    def _record(self, results: list[checks.CheckResult]) -> None:
        """Refresh the status page's banner too, when the database can hold the results."""
        if any(result.name == "database" and result.failed for result in results):
            return
        from dashboard.health.services import health_record

        health_record(results=results)
