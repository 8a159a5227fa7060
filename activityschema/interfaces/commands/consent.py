"""``activityschema consent``: record and show consent; choose what opt-out does at ingest."""

from __future__ import annotations

import typer

from ...errors import ValidationError
from ...governance import consent as consent_mod
from ...governance import policies
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table
from ._gov import actor, audit_read

consent_app = typer.Typer(help="Consent recorded as consent_updated events (GDPR, CCPA).", no_args_is_help=True)


def _flags(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"Consent flag {pair!r} must look like name=true or name=false.", code="invalid_consent_flag")
        out[name.strip()] = value.strip()
    return out


@consent_app.command("set")
def set_(
    subject: str = typer.Argument(..., help="Customer id (or anonymous id with --anonymous)."),
    flags: list[str] = typer.Argument(..., help="Flags like tracking=false do_not_sell=true."),
    anonymous: bool = typer.Option(False, help="SUBJECT is an anonymous_customer_id."),
    db: str | None = DbOption,
) -> None:
    """Record a consent_updated event; tracking=false opts out, do_not_sell=true stops sales."""
    with open_db(db) as store:
        consent_mod.record_consent(store, subject, _flags(flags), anonymous=anonymous, source=f"consent:{actor()}")
        audit_read(store, "consent_set", customer=subject, flags=sorted(_flags(flags)))
        state = consent_mod.consent_state(store, subject)
    console.print("Current consent: " + ", ".join(f"{k}={v['value']}" for k, v in sorted(state.items())))


@consent_app.command("show")
def show(subject: str = typer.Argument(..., help="Customer or anonymous id."), db: str | None = DbOption,
         as_json: bool = JsonOption) -> None:
    """The current consent flags of an actor (latest value of each flag)."""
    with open_db(db) as store:
        state = consent_mod.consent_state(store, subject)
        audit_read(store, "consent_show", row_count=len(state), customer=subject)
    if as_json:
        print_json(state)
    else:
        print_table(f"Consent of {subject}", ["flag", "value", "since", "event"],
                    [[k, v["value"], v["ts"], v["activity_id"]] for k, v in sorted(state.items())])


@consent_app.command("mode")
def mode(value: str | None = typer.Argument(None, help="drop or anonymize; omit to show."), db: str | None = DbOption) -> None:
    """What happens to events of an actor who opted out: drop (reject) or anonymize."""
    with open_db(db) as store:
        if value is not None:
            policies.set_policy(store, "opt_out_mode", value, actor=actor())
        current = policies.get_policy(store, "opt_out_mode")
    console.print(f"opt_out_mode = {current}")


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
