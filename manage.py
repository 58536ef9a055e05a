#!/usr/bin/env python
"""Django's command-line utility; configuration errors print as one line and exit 2."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")
    from django.core.management import execute_from_command_line

    from updater_project.env import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
