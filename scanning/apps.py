from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "scanning"
    verbose_name = "Vulnerability scanning"

    def ready(self) -> None:
        from deployments.events import EventKind, subscribe
        from scanning.services import scan_after_deploy

        # Scan the image that runs after every successful deploy or rollback (queued; never blocks it).
        subscribe(scan_after_deploy, [EventKind.DEPLOY_SUCCEEDED, EventKind.ROLLED_BACK])
