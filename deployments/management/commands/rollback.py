from django.core.management.base import CommandError, CommandParser

from deployments import engine, selectors
from deployments.management.commands._base import OpsCommand


class Command(OpsCommand):
    help = "Roll PROJECT/SERVICE back to TAG's revision, or to the revision before the current one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "service", help="PROJECT/SERVICE (HOST/PROJECT/SERVICE when the project is on several hosts)"
        )
        parser.add_argument("tag", nargs="?", help="a tag from the service's revision history")
        parser.add_argument("--queue", action="store_true", help="hand the rollback to a Celery worker and return")

    def handle(self, *args: object, **options: object) -> None:
        try:
            service = selectors.service_by_key(options["service"])
            run = engine.rollback_request(service=service, tag=options["tag"])
        except (selectors.ServiceNotFound, engine.DeployRequestError) as exc:
            raise CommandError(str(exc)) from None
        self.carry_out(run, queue=options["queue"], queued=f"roll {service} back to {run.to_tag}")
