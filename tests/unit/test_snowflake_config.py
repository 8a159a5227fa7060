"""Snowflake connection settings: required values, key-pair and password secrets, never shown."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activityschema.errors import ConfigError
from activityschema.store.backend import backend_names, open_backend
from activityschema.store.snowflake_config import SnowflakeConfig

BASE = {
    "ACTIVITYSCHEMA_SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1",
    "ACTIVITYSCHEMA_SNOWFLAKE_USER": "LOADER",
    "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": "ANALYTICS",
    "ACTIVITYSCHEMA_SNOWFLAKE_ROLE": "ACTIVITYSCHEMA_LOADER",
    "ACTIVITYSCHEMA_SNOWFLAKE_WAREHOUSE": "LOAD_XS",
}
SECRET = "correct horse battery staple"


def write_key(path, passphrase: bytes | None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return key


def test_password_from_the_environment_is_used_and_never_shown():
    config = SnowflakeConfig.from_settings({**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": SECRET})
    kwargs = config.connect_kwargs()
    assert kwargs["password"] == SECRET and kwargs["paramstyle"] == "qmark"
    assert (kwargs["role"], kwargs["warehouse"], kwargs["schema"]) == ("ACTIVITYSCHEMA_LOADER", "LOAD_XS", "PUBLIC")
    assert kwargs["session_parameters"] == {"TIMEZONE": "UTC", "QUERY_TAG": "activityschema"}
    for shown in (repr(config), str(config), config.describe()):
        assert SECRET not in shown
    assert config.describe() == "snowflake://xy12345.eu-west-1/ANALYTICS/PUBLIC"


def test_password_file_is_read_at_connect(tmp_path):
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    config = SnowflakeConfig.from_settings({**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD_FILE": str(secret_file)})
    assert config.auth_method == "password"
    assert config.connect_kwargs()["password"] == SECRET
    secret_file.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        config.connect_kwargs()


def test_encrypted_private_key_with_passphrase_file(tmp_path):
    key = write_key(tmp_path / "rsa_key.p8", b"s3cret")
    (tmp_path / "pass").write_text("s3cret\n")
    env = {**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_FILE": str(tmp_path / "rsa_key.p8"),
           "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_FILE": str(tmp_path / "pass")}
    config = SnowflakeConfig.from_settings(env)
    der = config.connect_kwargs()["private_key"]
    assert config.auth_method == "key_pair" and "password" not in config.connect_kwargs()
    loaded = serialization.load_der_private_key(der, password=None)
    assert loaded.private_numbers() == key.private_numbers()


def test_key_problems_say_what_to_do(tmp_path):
    write_key(tmp_path / "enc.p8", b"s3cret")
    env = {**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_FILE": str(tmp_path / "enc.p8")}
    with pytest.raises(ConfigError, match="it is encrypted: set snowflake_private_key_passphrase"):
        SnowflakeConfig.from_settings(env).connect_kwargs()
    wrong = {**env, "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "nope"}
    with pytest.raises(ConfigError, match="passphrase is wrong"):
        SnowflakeConfig.from_settings(wrong).connect_kwargs()
    missing = {**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_FILE": str(tmp_path / "absent.p8")}
    with pytest.raises(ConfigError, match="cannot read"):
        SnowflakeConfig.from_settings(missing).connect_kwargs()


def test_missing_and_ambiguous_settings_are_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"needs snowflake_account \(ACTIVITYSCHEMA_SNOWFLAKE_ACCOUNT\)"):
        SnowflakeConfig.from_settings({"ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": SECRET})
    with pytest.raises(ConfigError, match="needs a secret"):
        SnowflakeConfig.from_settings(BASE)
    both = {**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": SECRET,
            "ACTIVITYSCHEMA_SNOWFLAKE_PRIVATE_KEY_FILE": str(tmp_path / "k.p8")}
    with pytest.raises(ConfigError, match="not both"):
        SnowflakeConfig.from_settings(both)


def test_settings_come_from_the_config_file_too(tmp_path):
    toml = tmp_path / "activityschema.toml"
    toml.write_text('snowflake_account = "acme"\nsnowflake_user = "u"\nsnowflake_database = "D"\n'
                    'snowflake_schema = "EVENTS"\nsnowflake_password_file = "/run/secrets/sf"\n')
    config = SnowflakeConfig.from_settings({"ACTIVITYSCHEMA_CONFIG": str(toml)})
    assert (config.account, config.schema, config.password_file) == ("acme", "EVENTS", "/run/secrets/sf")


def test_extra_connect_args_never_carry_secrets():
    env = {**BASE, "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": SECRET,
           "ACTIVITYSCHEMA_SNOWFLAKE_CONNECT_ARGS": '{"host": "acme.privatelink.snowflakecomputing.com", '
                                                    '"login_timeout": 30, "session_parameters": {"X": 1}}'}
    kwargs = SnowflakeConfig.from_settings(env).connect_kwargs()
    assert kwargs["host"] == "acme.privatelink.snowflakecomputing.com" and kwargs["login_timeout"] == 30
    assert kwargs["session_parameters"]["X"] == 1
    bad = {**env, "ACTIVITYSCHEMA_SNOWFLAKE_CONNECT_ARGS": '{"password": "x"}'}
    with pytest.raises(ConfigError, match="may not set password"):
        SnowflakeConfig.from_settings(bad).connect_kwargs()


def test_backend_registry_names_and_suggestions(tmp_path):
    assert backend_names() == ["duckdb", "snowflake"]
    with pytest.raises(ConfigError, match="Unknown backend 'duckbd'. Did you mean 'duckdb'?"):
        open_backend(env={"ACTIVITYSCHEMA_BACKEND": "duckbd"})
    store = open_backend(env={"ACTIVITYSCHEMA_DB": str(tmp_path / "x.duckdb")})
    try:
        assert store.dialect == "duckdb" and store.path == str(tmp_path / "x.duckdb")
    finally:
        store.close()
