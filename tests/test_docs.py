"""The README keeps in step with the code: its two commands, CI, settings and commands documented."""

from __future__ import annotations

import re
from pathlib import Path

from phishguard.cli import cli
from phishguard.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_readme_opens_with_the_two_commands():
    first, second = bash_blocks(README)[:2]
    assert "pip install ." in first and "phishguard scan" in first
    assert "pip install -e '.[test]'" in second and "pytest" in second
    head = README[: README.index("## ")]
    assert first in head and second in head


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme_cmd = bash_blocks(README)[1].strip()
    ci_cmd = [ln for ln in ci.splitlines() if "pytest" in ln][0].strip()
    assert ci_cmd == readme_cmd


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"| `{name}" in README, f"setting {name} is missing from README"


def test_every_cli_command_is_documented():
    def walk(group, prefix=""):
        for name, cmd in group.commands.items():
            yield prefix + name
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + name + " ")

    for path in walk(cli):
        assert f"phishguard {path}" in README, f"command {path!r} is missing from README"


def test_readme_has_no_placeholders_left():
    assert not re.search(r"\b[A-Z]{3,}_[A-Z_]{3,}\b", README.replace("PHISHGUARD_", ""))


def test_readme_settings_table_is_current():
    from phishguard.settings import settings_table

    assert settings_table() in README, "regenerate the README table with phishguard.settings.settings_table()"
