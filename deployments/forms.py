"""Admin form for a service's update policy: explicit fields stored as overrides of its labels."""

from __future__ import annotations

from django import forms

from deployments.models import Service
from registries.tags import BUMP_LEVELS, STRATEGIES, PolicyError, policy_from_labels

FROM_LABELS = ("", "— as the labels say —")
OVERRIDE_FIELDS = ("strategy", "include", "exclude", "allow_prerelease", "max_bump", "min_age", "window")


class ServicePolicyForm(forms.ModelForm):
    """Each blank field keeps what the service's `updater.*` labels say; a value overrides it."""

    strategy = forms.ChoiceField(choices=[FROM_LABELS, *((s, s) for s in sorted(STRATEGIES))], required=False)
    include = forms.CharField(required=False, help_text="Regex a candidate tag must contain (re.search).")
    exclude = forms.CharField(required=False, help_text="Regex that rules a candidate tag out.")
    allow_prerelease = forms.ChoiceField(
        choices=[FROM_LABELS, ("true", "allow prereleases"), ("false", "skip prereleases")], required=False
    )
    max_bump = forms.ChoiceField(choices=[FROM_LABELS, *((b, b) for b in sorted(BUMP_LEVELS))], required=False)
    min_age = forms.CharField(
        required=False, help_text="A candidate tag must be this old: 90m, 24h, 7d ('none' to switch a label off)."
    )
    window = forms.CharField(
        required=False,
        label="Maintenance window",
        help_text="When automatic deploys may run: 'CRON DURATION [TIME_ZONE]', e.g. '0 2 * * * 2h Europe/Paris'; "
        "several separated by ';'; 'always' for no window.",
    )

    class Meta:
        model = Service
        fields = ["update_mode", "pinned_tag", "ignored_tags", "ignored_digests", "automation_paused"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        overrides = self.instance.policy_overrides or {}
        for name in OVERRIDE_FIELDS:
            value = overrides.get(name, "")
            self.initial[name] = str(value).lower() if isinstance(value, bool) else value

    def clean(self) -> dict:
        cleaned = super().clean()
        overrides = {name: cleaned.get(name) for name in OVERRIDE_FIELDS if cleaned.get(name) not in (None, "")}
        if "allow_prerelease" in overrides:
            overrides["allow_prerelease"] = overrides["allow_prerelease"] == "true"
        try:
            policy_from_labels(
                self.instance.labels,
                {**overrides, **({"update_mode": cleaned["update_mode"]} if cleaned.get("update_mode") else {})},
                pinned=cleaned.get("pinned_tag") or None,
                ignored=cleaned.get("ignored_tags") or (),
            )
        except PolicyError as exc:
            field = exc.setting.removeprefix("override ").replace("pinned tag", "pinned_tag")
            field = field.replace("ignored tag", "ignored_tags")
            self.add_error(field if field in self.fields else None, str(exc))
        self.instance.policy_overrides = overrides
        return cleaned
