from django.core.management.base import CommandError, CommandParser

from deployments import checks
from deployments.management.commands._base import OpsCommand


class Command(OpsCommand):
    help = "Discover services and check their registries now; queue deploys unless --dry-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", help="only PROJECT/SERVICE")
        parser.add_argument("--dry-run", action="store_true", help="report what would be deployed, deploy nothing")

    def handle(self, *args: object, **options: object) -> None:
        key = options["service"]
        cycle, outcomes = checks.run_cycle(service_key=key, dry_run=options["dry_run"])
        if key and not outcomes:
            raise CommandError(f"no running service {key!r} was found")
        for outcome in outcomes:
            service = outcome.service
            if outcome.error:
                line = f"error: {outcome.error}"
            elif outcome.has_update:
                line = f"{service.current_tag} → {outcome.available_tag} {outcome.available_digest[:19]}".rstrip()
            else:
                line = f"{service.current_tag}: {outcome.explanation.get('reason', 'up to date')}"
            action = f" [{outcome.action}]" if outcome.action else ""
            self.stdout.write(f"{service}: {line}{action}")
        self.stdout.write(
            f"checked {cycle.services_checked} services in {cycle.repositories_checked} repositories "
            f"with {cycle.registry_requests} registry requests"
        )
        if any(o.error for o in outcomes):
            raise CommandError(f"{sum(1 for o in outcomes if o.error)} service(s) could not be checked")
