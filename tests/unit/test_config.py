"""Settings and the policy file: names, validation messages, defaults."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings, load_policy, load_settings
from bot.core.domain import Priority
from bot.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def example_settings() -> dict[str, str]:
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_env_example_lists_exactly_the_settings() -> None:
    assert set(example_settings()) == {name.upper() for name in Settings.model_fields}


def test_every_setting_in_env_example_has_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            assert lines[i - 1].startswith("# "), f"{line} has no comment above it"


def test_env_example_values_are_valid(workdir: Path) -> None:
    values = {k.lower(): v for k, v in example_settings().items() if v}
    settings = load_settings(**values)
    assert settings.database_url == "sqlite+aiosqlite:///threadline.db"


def test_the_documented_names_are_read_from_the_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "DATABASE_URL": "postgresql+asyncpg://u@db/x",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_SIGNING_SECRET": "shh",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "SLACK_SUPPORT_CHANNEL": "C0SUPPORT",
        "SLACK_AGENTS": "U0ANN, U0BOB",
        "SLACK_LEADS": "U0LEAD",
        "SLACK_LEADS_CHANNEL": "C0LEADS",
        "SLACK_ESCALATION_CHANNEL": "C0ESC",
        "DISCORD_BOT_TOKEN": "abc.def",
        "DISCORD_API_URL": "http://127.0.0.1:9/api/v10",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/",
        "DISCORD_GUILD_ID": "100000000000000003",
        "OPENAI_API_KEY": "sk-1",
        "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
        "OPENAI_MODEL": "llama3",
        "THREADLINE_CONFIG": "policy.toml",
        "LOG_LEVEL": "debug",
        "HTTP_PORT": "8080",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.slack_agents == ["U0ANN", "U0BOB"]
    assert s.slack_leads == ["U0LEAD"]
    assert s.slack_bot_token is not None
    assert s.slack_bot_token.get_secret_value() == "xoxb-1"
    assert s.discord_guild_id == "100000000000000003"
    assert s.threadline_config == Path("policy.toml")
    assert s.log_level == "DEBUG"
    assert s.http_port == 8080
    assert s.missing_for_slack() == []
    assert s.missing_for_discord() == []
    assert s.ai_enabled


def test_dotenv_file_is_read_and_environment_wins(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".env").write_text("SLACK_SUPPORT_CHANNEL=C0FROMFILE\nOPENAI_MODEL=from-file\n")
    monkeypatch.setenv("OPENAI_MODEL", "from-env")
    s = load_settings()
    assert s.slack_support_channel == "C0FROMFILE"
    assert s.openai_model == "from-env"


def test_empty_values_count_as_unset(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert load_settings().slack_bot_token is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLACK_AGENTS", "U0ANN,bob", "SLACK_AGENTS: expected comma-separated Slack user ids"),
        ("SLACK_SUPPORT_CHANNEL", "#support", "SLACK_SUPPORT_CHANNEL: expected a Slack channel id"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "SLACK_BOT_TOKEN: expected a Slack bot token"),
        ("SLACK_APP_TOKEN", "xoxb-1", "SLACK_APP_TOKEN: expected a Slack app-level token"),
        ("HTTP_PORT", "eighty", "HTTP_PORT: Input should be a valid integer"),
        ("HTTP_PORT", "70000", "HTTP_PORT: Input should be less than or equal to 65535"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: expected sqlite+aiosqlite:///PATH"),
        ("DISCORD_GUILD_ID", "support", "DISCORD_GUILD_ID: expected a Discord server id"),
        ("DISCORD_GATEWAY_URL", "https://x", "DISCORD_GATEWAY_URL: expected a ws://"),
        ("SLACK_API_URL", "slack.com", "SLACK_API_URL: expected an http:// or https:// URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: Input should be 'DEBUG'"),
    ],
)
def test_malformed_values_name_the_setting(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert expected in str(bad.value)


def test_secrets_never_appear_in_errors(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-very-secret")
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert "very-secret" not in str(bad.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    assert "very-secret" not in repr(load_settings())


def test_missing_platform_settings_are_listed(workdir: Path) -> None:
    s = load_settings()
    assert s.missing_for_slack() == [
        "SLACK_BOT_TOKEN",
        "SLACK_SUPPORT_CHANNEL",
        "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)",
    ]
    assert s.missing_for_discord() == ["DISCORD_BOT_TOKEN"]
    assert not s.ai_enabled


def test_policy_defaults_without_a_file(workdir: Path) -> None:
    policy = load_policy(load_settings().policy_path())
    assert policy.tickets.default_priority is Priority.NORMAL
    assert policy.tickets.default_tier == 1


def test_policy_file_is_read(workdir: Path) -> None:
    (workdir / "threadline.toml").write_text('[tickets]\ndefault_priority = "high"\n')
    policy = load_policy(load_settings().policy_path())
    assert policy.tickets.default_priority is Priority.HIGH
    assert policy.delivery.lease == timedelta(seconds=20)  # the default


def test_a_delivery_lease_is_read(workdir: Path) -> None:
    (workdir / "threadline.toml").write_text('[delivery]\nlease = "5s"\n')
    assert load_policy(load_settings().policy_path()).delivery.lease == timedelta(seconds=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tickets\n", "not valid TOML"),
        ('[tickets]\ndefault_priority = "soon"\n', "tickets.default_priority: Input should be"),
        ("[tickets]\ndefault_tier = 9\n", "tickets.default_tier"),
        ('[delivery]\nlease = "0s"\n', "delivery.lease: a lease is 1s to 10m"),
        ('[delivery]\nlease = "1h"\n', "delivery.lease: a lease is 1s to 10m"),
        ("[tickts]\n", "tickts: Extra inputs are not permitted"),
    ],
)
def test_bad_policy_files_say_where(workdir: Path, text: str, expected: str) -> None:
    path = workdir / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as bad:
        load_policy(path)
    assert str(path) in str(bad.value)
    assert expected in str(bad.value)


def test_a_named_policy_file_must_exist(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"THREADLINE_CONFIG: no policy file at nowhere\.toml"):
        load_policy(Path("nowhere.toml"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[ai]\nauto_answer = "sometimes"\n', "ai.auto_answer: Input should be"),
        ('[ai]\nredact = ["email", "shoe size"]\n', "redact: unknown kinds ['shoe size']"),
        ("[ai]\ncutoff = 1.5\n", "ai.cutoff"),
        ("[ai]\ndaily_tokens = 0\n", "ai.daily_tokens"),
        ('[ai]\nmodels = { drafts = "gpt-4o" }\n', "ai.models.drafts"),
        ('[ai]\ncategories = [{ name = "Billing" }, { name = "billing" }]\n', "appears twice"),
        ('[ai]\nteam_language = "English"\n', "ai.team_language"),
        ("[ai]\ntriage = true\nsumary = false\n", "ai.sumary: Extra inputs are not permitted"),
    ],
)
def test_a_bad_ai_table_says_where(workdir: Path, text: str, expected: str) -> None:
    path = workdir / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as bad:
        load_policy(path)
    assert str(path) in str(bad.value)
    assert expected in str(bad.value)


def test_the_ai_features_are_on_with_a_model_or_an_ai_table(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = load_policy(None)
    assert plain.ai_policy(load_settings()) is None  # no model, no table: no AI at all
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    with_model = plain.ai_policy(load_settings())
    assert with_model is not None
    assert with_model.auto_answer.value == "off"  # the defaults: on, but no automated answer
    monkeypatch.delenv("OPENAI_BASE_URL")
    path = workdir / "policy.toml"
    path.write_text('[ai]\ndraft = false\nknowledge = "help"\n')
    table = load_policy(path).ai_policy(load_settings())
    assert table is not None  # the table alone: the fallbacks answer
    assert not table.draft
    assert table.knowledge == "help"
