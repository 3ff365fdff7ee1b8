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
    for token in ("CLI_EXAMPLE", "VERDICT_EXAMPLE", "MATCHERS_LIST", "SETTINGS_TABLE", "THROUGHPUT", "TODO", "TBD"):
        assert token not in README, token


def test_readme_settings_table_is_current():
    from phishguard.settings import settings_table

    assert settings_table() in README, "regenerate the README table with phishguard.settings.settings_table()"


def console_examples(text: str) -> list[tuple[str, str, int | None]]:
    """(command, expected output, expected exit code) from README ```console blocks.

    A block holds ``$ phishguard …`` lines, each followed by its output and optionally by
    ``$ echo $?`` and the exit code.
    """
    out: list[tuple[str, str, int | None]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        cmd: str | None = None
        lines: list[str] = []
        code: int | None = None
        want_code = False
        for line in block.splitlines():
            if line == "$ echo $?":
                want_code = True
            elif line.startswith("$ "):
                if cmd is not None:
                    out.append((cmd, "\n".join(lines), code))
                cmd, lines, code = line[2:], [], None
            elif want_code:
                code, want_code = int(line), False
            else:
                lines.append(line)
        if cmd is not None:
            out.append((cmd, "\n".join(lines), code))
    return out


def test_readme_cli_examples_are_real_output():
    import shlex
    import subprocess
    import sys

    examples = console_examples(README)
    assert len(examples) >= 2
    for cmd, expected, code in examples:
        args = shlex.split(cmd)
        assert args[0] == "phishguard"
        p = subprocess.run(
            [sys.executable, "-m", "phishguard", *args[1:]],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            timeout=60,
        )
        assert p.stdout.rstrip("\n") == expected.rstrip("\n"), cmd
        if code is not None:
            assert p.returncode == code, cmd


def test_readme_verdict_example_has_the_real_shape(scanner):
    import json

    block = re.search(r"## The verdict.*?```json\n(.*?)```", README, re.S).group(1)
    doc = json.loads(block)
    real = scanner.scan("Получите оплату: https://аvito.ru/pay/123", id="m-1842", context={"chat_id": "c-1"}).to_dict()
    assert list(doc) == list(real)
    assert list(doc["reasons"][0]) == list(real["reasons"][0])
    assert list(doc["urls"][0]) == list(real["urls"][0])


def test_every_matcher_is_documented():
    from phishguard.ruleset.matchers import MATCHERS

    for name in MATCHERS:
        assert f"`{name}`" in README, f"matcher {name} is missing from README"
