"""Reading settings from the environment: defaults, bounds, and errors that name the variable."""

from __future__ import annotations

import pytest

from config.env import Env, SettingError


def test_missing_variable_takes_the_default() -> None:
    assert Env({}).integer("REALTIME_BATCH_SIZE", 50) == 50


def test_whole_number_within_bounds_is_read() -> None:
    assert Env({"REALTIME_BATCH_SIZE": " 100 "}).integer("REALTIME_BATCH_SIZE", 50) == 100


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "2000"])
def test_bad_number_names_the_variable_and_the_expectation(value: str) -> None:
    with pytest.raises(SettingError) as raised:
        Env({"REALTIME_BATCH_SIZE": value}).integer("REALTIME_BATCH_SIZE", 50, maximum=1000)
    assert str(raised.value) == (
        f"Invalid setting REALTIME_BATCH_SIZE={value!r}: expected a whole number >= 1 and <= 1000."
    )


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("off", False)])
def test_flags_accept_common_words(value: str, expected: bool) -> None:
    assert Env({"DEBUG": value}).flag("DEBUG", default=False) is expected


def test_unknown_flag_word_is_an_error() -> None:
    with pytest.raises(SettingError, match="DEBUG='maybe'"):
        Env({"DEBUG": "maybe"}).flag("DEBUG", default=False)


def test_comma_lists_drop_blanks() -> None:
    assert Env({"ALLOWED_HOSTS": "a.example, ,b.example"}).csv("ALLOWED_HOSTS", []) == [
        "a.example",
        "b.example",
    ]


def test_url_with_a_foreign_scheme_is_refused() -> None:
    with pytest.raises(SettingError, match="REDIS_URL='http://x'"):
        Env({"REDIS_URL": "http://x"}).url("REDIS_URL", "redis://127.0.0.1", schemes=("redis",))


def test_required_variable_missing_says_why() -> None:
    with pytest.raises(Exception, match="Missing setting SECRET_KEY: production needs"):
        Env({}).required("SECRET_KEY", "production needs a long random secret")
