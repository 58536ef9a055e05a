from django.core.management.base import CommandError, CommandParser

from deployments import engine, selectors
from deployments.management.commands._base import OpsCommand
from scanning import services


class Command(OpsCommand):
    help = (
        "Let DIGEST (registry digest or image ID) through the scan gate once for PROJECT/SERVICE, and retry the "
        "deploy the gate blocked (in this process unless --queue or --no-deploy)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="PROJECT/SERVICE")
        parser.add_argument("digest", help="sha256:… of the blocked image")
        parser.add_argument("--no-deploy", action="store_true", help="only record the allowance")
        parser.add_argument("--queue", action="store_true", help="hand the deploy to a Celery worker and return")

    def handle(self, *args: object, **options: object) -> None:
        try:
            service = selectors.service_by_key(options["service"])
            allowed = services.scan_allow_once(
                service=service, digest=options["digest"], redeploy=not options["no_deploy"], queue=False
            )
        except (selectors.ServiceNotFound, services.ScanRequestError) as exc:
            raise CommandError(str(exc)) from None
        except engine.DeployRequestError as exc:
            raise CommandError(f"the digest may pass the scan gate once, but the deploy did not start: {exc}") from None
        self.stdout.write(f"{service}: {allowed.allowance.digest} may pass the scan gate once")
        if allowed.run is not None:
            self.carry_out(allowed.run, queue=options["queue"], queued=f"deploy {allowed.run.to_tag} to {service}")
