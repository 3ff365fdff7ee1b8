from __future__ import annotations

import pytest
from pydantic import SecretStr

from phishguard.settings import ConfigError, Settings, effective_config, load_settings


def test_defaults_need_no_file():
    s = load_settings(None)
    assert s.thresholds.suspicious < s.thresholds.fraud
    assert s.rules_dir is None and s.limits.max_text_bytes == 65536


def test_yaml_file_then_environment_wins(tmp_path, monkeypatch):
    cfg = tmp_path / "pg.yaml"
    cfg.write_text("thresholds:\n  suspicious: 0.3\n  fraud: 0.7\ndeny_domains: [evil.example]\n", encoding="utf-8")
    s = load_settings(cfg)
    assert (s.thresholds.suspicious, s.thresholds.fraud) == (0.3, 0.7)
    monkeypatch.setenv("PHISHGUARD_THRESHOLDS__FRAUD", "0.9")
    s = load_settings(cfg)
    assert (s.thresholds.suspicious, s.thresholds.fraud) == (0.3, 0.9)
    assert s.deny_domains == ["evil.example"]


def test_config_path_from_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lang: ru\n", encoding="utf-8")
    monkeypatch.setenv("PHISHGUARD_CONFIG", str(cfg))
    assert load_settings().lang == "ru"


@pytest.mark.parametrize(
    "body, needle",
    [
        ("thresholds:\n  fraud: 1.5\n", "thresholds.fraud"),
        ("thresholds:\n  suspicious: 0.8\n  fraud: 0.5\n", "lower than"),
        ("tresholds:\n  fraud: 0.5\n", "tresholds"),
        ("limits:\n  max_urls: 0\n", "limits.max_urls"),
        ("category_caps:\n  spam: 0.9\n", "spam alone is never fraud"),
        ("rule_overrides:\n  url.userinfo:\n    weight: 3\n", "rule_overrides.url.userinfo.weight"),
        ("- just\n- a list\n", "must be a mapping"),
        ("thresholds: [\n", "c.yaml:"),
    ],
)
def test_invalid_config_is_one_clear_line(tmp_path, body, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg


def test_invalid_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("PHISHGUARD_LIMITS__MAX_URLS", "lots")
    with pytest.raises(ConfigError, match="limits.max_urls"):
        load_settings(None)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")


def test_effective_config_masks_secrets():
    class WithSecret(Settings):
        database_url: SecretStr | None = None

    data = effective_config(WithSecret(database_url="postgresql://u:hunter2@db/x"))
    assert data["database_url"] == "********"
    assert "hunter2" not in repr(data)
    assert data["thresholds"] == {"suspicious": 0.4, "fraud": 0.75}
