"""The web process: Daphne's own command line, with registry webhook tokens masked in its access log.

A webhook URL (`/hooks/<token>/`) is a secret: Daphne logs every request's full URI, so its access-log
writer is replaced by one that keeps only the token's last four characters, as the admin shows them.
Run as `python -m dashboard.launcher.daphne_web <daphne arguments>`.
"""

from __future__ import annotations

import re

import daphne.access
import daphne.cli

_TOKEN = re.compile(r"(/hooks/)[^/?\s\"]*?([^/?\s\"]{4})(?=[/?\s\"]|$)")


def mask_tokens(text: str) -> str:
    return _TOKEN.sub(r"\1…\2", text)


class MaskingAccessLog(daphne.access.AccessLogGenerator):
    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):  # type: ignore[no-untyped-def]
        super().write_entry(host, date, mask_tokens(request), status, length, ident, user)


def main() -> None:
    daphne.cli.AccessLogGenerator = MaskingAccessLog  # the name `CommandLineInterface.run` builds its logger from
    daphne.cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
