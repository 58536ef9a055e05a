import django.db.models.deletion
from django.db import migrations, models

import deployments.models


class Migration(migrations.Migration):
    """Separate from 0007: on PostgreSQL a table cannot be altered in the transaction that updated its rows."""

    dependencies = [
        ("deployments", "0008_docker_hosts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="composeproject",
            name="host",
            field=models.ForeignKey(
                default=deployments.models.local_host_id,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="projects",
                to="deployments.dockerhost",
            ),
        ),
        migrations.AlterField(
            model_name="composeproject",
            name="name",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="composeproject",
            constraint=models.UniqueConstraint(fields=("host", "name"), name="unique_project_per_host"),
        ),
    ]
