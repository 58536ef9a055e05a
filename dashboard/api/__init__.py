"""The REST API: read projects, services, runs, check cycles and scans; act through `deployments.services`."""
