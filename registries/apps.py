from django.apps import AppConfig


class RegistriesConfig(AppConfig):
    name = "registries"
    verbose_name = "Registries"

    def ready(self) -> None:
        from registries.secrets import SealedField, sealed_field_register

        sealed_field_register(SealedField("registries.Registry", "secret_encrypted", "host", "registry secret"))
        sealed_field_register(
            SealedField("registries.WebhookEndpoint", "secret_encrypted", "registry__host", "webhook secret")
        )
