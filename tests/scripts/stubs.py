"""Stand-in CLIs for the setup-script tests: each records its argv and stdin and answers from a script.

A sandbox `bin/` holds links to the few system tools the scripts need plus the stubs, and is the whole PATH,
so a real `aws`, `az` or `gcloud` on the machine is never reached and a missing tool really is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_TOOLS = [
    "bash", "env", "sed", "grep", "cat", "tr", "dirname", "jq", "openssl", "sort", "paste", "cut",
    "mktemp", "chmod", "mv", "rm", "head", "tail", "basename", "docker",
]  # fmt: skip

STUB = """#!{python}
import json, os, sys
argv = sys.argv[1:]
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({{"tool": {name!r}, "argv": argv, "stdin": stdin}}) + "\\n")
joined = " ".join(argv)
for case in json.load(open({cases!r})):
    if all(part in joined for part in case["match"]):
        sys.stdout.write(case.get("stdout", ""))
        sys.stderr.write(case.get("stderr", ""))
        sys.exit(case.get("exit", 0))
sys.exit(0)
"""


@dataclass
class Call:
    tool: str
    argv: list[str]
    stdin: str

    @property
    def line(self) -> str:
        return " ".join([self.tool, *self.argv])


class Sandbox:
    def __init__(self, directory: Path, *, without: tuple[str, ...] = ()) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir(exist_ok=True)
        self.log = directory / "calls.jsonl"
        self.log.touch()
        for tool in SYSTEM_TOOLS:
            found = shutil.which(tool)
            if found and tool not in without and not (self.bin / tool).exists():
                (self.bin / tool).symlink_to(found)

    def stub(self, name: str, cases: list[dict]) -> None:
        """`cases`: [{"match": [substrings of argv], "stdout": ..., "exit": n}], first match wins; else exit 0."""
        cases_file = self.bin.parent / f"{name}.cases.json"
        cases_file.write_text(json.dumps(cases))
        path = self.bin / name
        if path.is_symlink():
            path.unlink()
        path.write_text(STUB.format(python=sys.executable, name=name, cases=str(cases_file)))
        path.chmod(0o755)

    def remove(self, name: str) -> None:
        (self.bin / name).unlink()

    def run(self, script: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):
        environ = {"PATH": str(self.bin), "STUB_LOG": str(self.log), "HOME": str(self.bin.parent), **(env or {})}
        if "DOCKER_HOST" in os.environ:
            environ["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
        return subprocess.run(
            [str(self.bin / "bash"), str(ROOT / "scripts" / script), *args],
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.bin.parent,
        )

    def calls(self, tool: str | None = None) -> list[Call]:
        records = [Call(**json.loads(line)) for line in self.log.read_text().splitlines()]
        return [call for call in records if tool is None or call.tool == tool]
