import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def projects_to_the_local_host(apps, schema_editor):
    """Every project discovered before fleets ran on the one engine there was: the local host."""
    DockerHost = apps.get_model("deployments", "DockerHost")
    ComposeProject = apps.get_model("deployments", "ComposeProject")
    host, _ = DockerHost.objects.get_or_create(name=settings.LOCAL_HOST or "local")
    ComposeProject.objects.filter(host__isnull=True).update(host=host)


class Migration(migrations.Migration):

    dependencies = [
        ("deployments", "0007_maintenance_windows"),
    ]

    operations = [
        migrations.CreateModel(
            name="DockerHost",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        max_length=63,
                        unique=True,
                        validators=[django.core.validators.RegexValidator("^[a-z0-9][a-z0-9_.-]{0,62}$")],
                    ),
                ),
                ("docker_host", models.CharField(blank=True, help_text="DOCKER_HOST as its agent sees it.", max_length=512)),
                ("engine_version", models.CharField(blank=True, max_length=64)),
                ("api_version", models.CharField(blank=True, max_length=16)),
                ("compose_version", models.CharField(blank=True, max_length=64)),
                ("engine_id", models.CharField(blank=True, help_text="The engine's own ID (docker info).", max_length=128)),
                ("agent", models.CharField(blank=True, help_text="The worker that reported last.", max_length=255)),
                ("last_heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True, help_text="What the agent could not do with its engine.")),
                ("reported_offline", models.BooleanField(default=False, editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="checkcycle",
            name="hosts_offline",
            field=models.JSONField(blank=True, default=list, help_text="Hosts skipped: their agent was silent."),
        ),
        migrations.AddField(
            model_name="checkcycle",
            name="services_skipped",
            field=models.PositiveIntegerField(default=0, help_text="Services of offline hosts, not checked."),
        ),
        migrations.AddField(
            model_name="composeproject",
            name="host",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="projects",
                to="deployments.dockerhost",
            ),
        ),
        migrations.RunPython(projects_to_the_local_host, migrations.RunPython.noop),
    ]
