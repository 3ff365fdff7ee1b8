"""The CLI end to end, as a user runs it: subprocess, exit codes, stdout/stderr contents."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from phishguard import __version__


def run(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PHISHGUARD_")}
    full_env.update({"LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "phishguard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        timeout=60,
    )


def one_line_error(p: subprocess.CompletedProcess) -> str:
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def test_version():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"phishguard {__version__}"


def test_mixed_script_link_json_exit_1_both_languages():
    p = run("scan", "--format", "json", "Получите оплату: https://аvito.ru/pay/123")
    assert p.returncode == 1, p.stderr
    v = json.loads(p.stdout)
    assert v["verdict"] in ("suspicious", "fraud")
    r = next(r for r in v["reasons"] if r["rule"] == "url.idn-mixed-script")
    assert r["evidence"] == "аvito.ru"
    assert "xn--vito-43d.ru" in r["message"]["ru"] and "xn--vito-43d.ru" in r["message"]["en"]
    assert v["urls"][0]["host"] == "xn--vito-43d.ru"


def test_clean_message_exit_0_text_output():
    p = run("scan", "Здравствуйте, камера ещё продаётся?")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("SAFE (0.00)")
    assert "\x1b[" not in p.stdout  # plain when piped


def test_human_output_in_russian_defangs_links():
    p = run("scan", "--lang", "ru", "Получите оплату: https://аvito.ru/pay/123")
    assert p.returncode == 1
    out = p.stdout
    assert out.splitlines()[0].startswith(("МОШЕННИЧЕСТВО", "ПОДОЗРИТЕЛЬНО"))
    assert "hxxps://аvito[.]ru/pay/123" in out and "xn--vito-43d[.]ru" in out
    assert "https://" not in out
    assert "Что делать:" in out


def test_several_arguments_json_array_and_jsonl():
    p = run("scan", "--format", "json", "привет", "http://0x7f.1/x")
    arr = json.loads(p.stdout)
    assert [v["verdict"] for v in arr][0] == "safe" and arr[1]["verdict"] != "safe"
    assert p.returncode == 1
    p = run("scan", "--format", "jsonl", "привет", "пока")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 2


def test_file_stdin_jsonl_keeps_order_echoes_ids_and_errors_in_place():
    lines = [
        '{"id": "a", "text": "привет", "context": {"chat_id": "c1"}}',
        "https://avito.ru@evil.top/pay",
        "",
        '{"id": "b", "txt": "no text field"}',
        '{"id": 7, "text": "Получите оплату: https://аvito.ru/pay/123"}',
        "{not json at all",
    ]
    p = run("scan", "--file", "-", "--format", "jsonl", stdin="\n".join(lines) + "\n")
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["id"] == "a" and out[0]["context"] == {"chat_id": "c1"} and out[0]["verdict"] == "safe"
    assert out[1]["verdict"] != "safe" and "id" not in out[1]
    assert out[2]["verdict"] == "safe" and out[2]["reasons"] == []
    assert out[3] == {"id": "b", "error": {"code": "invalid_request", "message": "a JSON line needs a string field 'text'"}}
    assert out[4]["id"] == 7 and out[4]["verdict"] != "safe"
    assert out[5]["verdict"] == "safe"  # not a JSON object: the line is the message itself
    assert p.returncode == 2  # an error line wins over findings
    one_line_error(p)


def test_piped_stdin_without_arguments_text_lines():
    p = run("scan", stdin="привет\nhttp://0x7f.1/x\n")
    lines = p.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("SAFE") and not lines[1].startswith("SAFE")
    assert "hxxp://127[.]0[.]0[.]1/x" in lines[1]  # the address it really is
    assert p.returncode == 1


def test_file_argument(tmp_path):
    f = tmp_path / "msgs.txt"
    f.write_text("раз\nдва\n", encoding="utf-8")
    p = run("scan", "--file", str(f), "--format", "jsonl")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 2


def test_unreadable_file_exit_2_one_line(tmp_path):
    p = run("scan", "--file", str(tmp_path / "missing.txt"))
    assert p.returncode == 2 and p.stdout == ""
    assert "cannot read" in one_line_error(p)
    d = tmp_path / "adir"
    d.mkdir()
    p = run("scan", "--file", str(d))
    assert p.returncode == 2
    one_line_error(p)


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--format", "xml", "hi"),
        ("scan", "--lang", "de", "hi"),
        ("scan", "--file", "-", "also-text"),
        ("frobnicate",),
        ("scan", "--nope"),
    ],
)
def test_usage_errors_exit_2_one_line(args):
    p = run(*args, stdin="")
    assert p.returncode == 2
    assert one_line_error(p).startswith("phishguard: error:")


def test_bad_config_exit_2_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("thresholds:\n  fraud: 7\n", encoding="utf-8")
    p = run("scan", "--config", str(cfg), "hi")
    assert p.returncode == 2
    assert "thresholds.fraud" in one_line_error(p)
    p = run("scan", "hi", env={"PHISHGUARD_LIMITS__MAX_URLS": "-1"})
    assert p.returncode == 2 and "limits.max_urls" in one_line_error(p)


def test_broken_rules_folder_exit_2_names_file_rule_field(tmp_path):
    root = tmp_path / "rules"
    root.mkdir()
    (root / "x.yaml").write_text("id: a.b\ntitle: t\ncategory: nope\nseverity: low\nweight: 0.1\nmatch: {defanged: {}}\nmessages: {ru: р, en: e}\n", encoding="utf-8")
    p = run("scan", "hi", env={"PHISHGUARD_RULES_DIR": str(root)})
    assert p.returncode == 2
    line = one_line_error(p)
    assert "x.yaml:3: rule a.b: field 'category'" in line


def test_rules_check_ok_and_failing(tmp_path):
    p = run("rules", "check")
    assert p.returncode == 0, p.stdout
    assert p.stdout.strip().splitlines()[-1].startswith("OK:")
    root = tmp_path / "rules"
    root.mkdir()
    (root / "x.yaml").write_text(
        "id: a.b\ntitle: t\ncategory: url_structure\nseverity: low\nweight: 0.1\nmatch: {defanged: {}}\n"
        "messages: {ru: р, en: e}\nexamples:\n  match: ['plain text']\n  no_match: ['hxxp://a[.]ru']\n",
        encoding="utf-8",
    )
    p = run("rules", "check", "--rules-dir", str(root))
    assert p.returncode == 1
    assert "example should match: 'plain text'" in p.stdout
    assert "example should not match: 'hxxp://a[.]ru'" in p.stdout


def test_config_show_prints_effective_values(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("deny_domains: [evil.example]\n", encoding="utf-8")
    p = run("config", "show", "--config", str(cfg), "--format", "json", env={"PHISHGUARD_THRESHOLDS__FRAUD": "0.8"})
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["thresholds"]["fraud"] == 0.8 and data["deny_domains"] == ["evil.example"]


def test_scan_fetch_refuses_internal_targets_and_says_so():
    p = run("scan", "--fetch", "--format", "json", "Оплата http://127.0.0.1/pay и http://[::1]/x")
    assert p.returncode == 1, p.stderr
    v = json.loads(p.stdout)
    refused = [r for r in v["reasons"] if r["rule"] == "page.fetch-refused"]
    assert len(refused) == 2 and all(r["category"] == "degraded" for r in refused)
