"""Model factories for the whole suite."""

import factory
from django.contrib.auth import get_user_model

from deployments.models import ComposeProject, DeploymentRun, Revision, Service
from registries.models import Registry


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class RegistryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registry

    host = factory.Sequence(lambda n: f"registry{n}.example.com")


class ComposeProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComposeProject

    name = factory.Sequence(lambda n: f"project{n}")
    working_dir = factory.LazyAttribute(lambda o: f"/srv/{o.name}")
    config_files = factory.LazyAttribute(lambda o: [f"{o.working_dir}/compose.yaml"])


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    project = factory.SubFactory(ComposeProjectFactory)
    name = factory.Sequence(lambda n: f"service{n}")
    repository = "registry.example.com/team/app"
    current_tag = "1.0.0"
    image = factory.LazyAttribute(lambda o: f"{o.repository}:{o.current_tag}")
    current_digest = "sha256:" + "a" * 64
    is_running = True
    container_state = "running"


class DeploymentRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeploymentRun

    service = factory.SubFactory(ServiceFactory)
    generation = 1
    trigger = DeploymentRun.Trigger.AUTO
    from_tag = factory.LazyAttribute(lambda o: o.service.current_tag)
    to_tag = "1.1.0"


class RevisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Revision

    service = factory.SubFactory(ServiceFactory)
    tag = "1.0.0"
    digest = "sha256:" + "b" * 64
    trigger = Revision.Trigger.DISCOVERED
