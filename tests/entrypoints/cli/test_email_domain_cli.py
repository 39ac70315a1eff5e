"""`threadline email-domain`: how the operator lets a workspace use its mail domain."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from threadline.adapters.db.migrate import sync_database_url
from threadline.entrypoints.cli import app


def cli(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", database_url])


def email_domain(database_url: str, action: str, workspace: str, domain: str) -> Result:
    """`threadline email-domain allow|revoke --workspace W --domain D`."""
    return cli(database_url, "email-domain", action, "--workspace", workspace, "--domain", domain)


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


def make_workspace(database_url: str, slug: str) -> None:
    created = cli(
        database_url,
        "create-admin",
        "--workspace",
        slug,
        "--create-workspace",
        "--email",
        f"admin@{slug}.example.com",
        "--name",
        "Admin",
        "--password",
        "a-long-password",
    )
    assert created.exit_code == 0, created.output


def give_inbox_address(database_url: str, slug: str, address: str) -> None:
    engine = sa.create_engine(sync_database_url(database_url))
    try:
        with engine.begin() as conn:
            workspace_id = conn.execute(
                sa.text("SELECT id FROM workspaces WHERE slug = :slug"), {"slug": slug}
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO inboxes (workspace_id, name, channel, address, settings,"
                    " secret, created_at) VALUES (:ws, 'Support', 'email', :address, '{}',"
                    " 'not-a-real-secret-value', CURRENT_TIMESTAMP)"
                ),
                {"ws": workspace_id, "address": address},
            )
    finally:
        engine.dispose()


def test_the_operator_allows_lists_and_revokes_a_workspaces_mail_domain(
    database_url: str,
) -> None:
    make_workspace(database_url, "northwind")
    make_workspace(database_url, "contoso")

    allowed = email_domain(database_url, "allow", "northwind", "@Mail.Northwind.Example")
    assert allowed.exit_code == 0, allowed.output
    assert "may now use the mail domain mail.northwind.example" in one_line(allowed)
    again = email_domain(database_url, "allow", "northwind", "mail.northwind.example")
    assert again.exit_code == 0, again.output

    taken = email_domain(database_url, "allow", "contoso", "mail.northwind.example")
    assert taken.exit_code == 1
    assert "allowed for workspace 'northwind' already" in one_line(taken)
    assert "email-domain revoke --workspace northwind" in one_line(taken)

    nonsense = email_domain(database_url, "allow", "contoso", "not a domain")
    assert nonsense.exit_code == 1 and "not a usable mail domain" in one_line(nonsense)
    nobody = email_domain(database_url, "allow", "nobody", "x.example.com")
    assert nobody.exit_code == 1 and "no workspace 'nobody'" in one_line(nobody)

    listed = cli(database_url, "email-domain", "list")
    assert listed.exit_code == 0, listed.output
    assert "northwind" in listed.output and "mail.northwind.example" in listed.output
    assert "operator" in listed.output

    give_inbox_address(database_url, "northwind", "support@mail.northwind.example")
    in_use = email_domain(database_url, "revoke", "northwind", "mail.northwind.example")
    assert in_use.exit_code == 1
    assert "support@mail.northwind.example" in one_line(in_use)

    not_theirs = email_domain(database_url, "revoke", "contoso", "mail.northwind.example")
    assert not_theirs.exit_code == 1 and "not allowed for workspace 'contoso'" in one_line(
        not_theirs
    )

    engine = sa.create_engine(sync_database_url(database_url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE inboxes SET address = NULL"))
    finally:
        engine.dispose()
    revoked = email_domain(database_url, "revoke", "northwind", "mail.northwind.example")
    assert revoked.exit_code == 0, revoked.output
    assert "no longer use the mail domain mail.northwind.example" in one_line(revoked)
    assert "No mail domain is allowed" in cli(database_url, "email-domain", "list").output
