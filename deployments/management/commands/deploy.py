from django.core.management.base import CommandError, CommandParser

from deployments import engine, selectors
from deployments.management.commands._base import OpsCommand
from deployments.models import DeploymentRun


class Command(OpsCommand):
    help = "Deploy TAG to PROJECT/SERVICE now (runs in this process unless --queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "service", help="PROJECT/SERVICE (HOST/PROJECT/SERVICE when the project is on several hosts)"
        )
        parser.add_argument("tag")
        parser.add_argument("--queue", action="store_true", help="hand the deploy to a Celery worker and return")

    def handle(self, *args: object, **options: object) -> None:
        try:
            service = selectors.service_by_key(options["service"])
            run = engine.deployment_request(service=service, tag=options["tag"], trigger=DeploymentRun.Trigger.MANUAL)
        except (selectors.ServiceNotFound, engine.DeployRequestError) as exc:
            raise CommandError(str(exc)) from None
        self.carry_out(run, queue=options["queue"], queued=f"deploy {run.to_tag} to {service}")
