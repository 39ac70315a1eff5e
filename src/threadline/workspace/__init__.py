"""The workspace: its agents, teams and inboxes, signing in, API keys and mail domains.

Code outside the package imports from here. Inside:

- auth.py             sign-in, tokens, the principal behind a token or an API key
- agents.py           agents' profiles, presence and teams
- teams.py            teams and their members
- inboxes.py          the channel accounts (their secrets are write-only)
- inbox_addresses.py  an email address names one inbox in the whole installation
- email_domains.py    the mail domains the operator allows a workspace
- api_keys.py         workspace API keys, shown once
- create.py           creating workspaces, agents and inboxes (the seed and the CLI)
- reads.py            who is signed in; a workspace by slug or by an agent's email
- mailboxes.py        email inboxes and their folder cursors, for the IMAP poller
- setup.py            how far the set-up has come (the console's get-started checklist)
- passwords.py        changing one's own password (other sessions end)
- inbox_traffic.py    each inbox's latest traffic in and out (the console's channel list)
- sign_up_links.py    invitations and password resets by a one-time link
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.workspace.agents import (
        NewAgent,
        add_agent,
        list_agents,
        set_own_presence,
        show_agent,
        team_ids_of,
        update_agent,
    )
    from threadline.workspace.api_keys import (
        api_key_view,
        issue_api_key,
        list_api_keys,
        revoke_api_key,
    )
    from threadline.workspace.auth import (
        API_KEY_PREFIX,
        FAST_HASHING,
        FAST_HASHING_VARIABLE,
        AuthenticationFailed,
        decode_token,
        hash_password,
        issue_token,
        principal_for_agent,
        principal_for_api_key,
        sign_in,
        sign_out,
    )
    from threadline.workspace.create import create_agent, create_inbox, create_workspace
    from threadline.workspace.email_domains import (
        all_email_domains,
        allow_email_domain,
        email_domain_view,
        list_email_domains,
        revoke_email_domain,
        workspace_by_slug,
    )
    from threadline.workspace.inbox_addresses import email_inbox_for
    from threadline.workspace.inbox_traffic import InboxTraffic, traffic_of
    from threadline.workspace.inboxes import (
        add_inbox,
        inbox_for_check,
        list_inboxes,
        mail_sending_inbox,
        update_inbox,
    )
    from threadline.workspace.mailboxes import (
        FolderCursor,
        advance_folder,
        email_inboxes,
        inbox_by_id,
        start_folder,
    )
    from threadline.workspace.passwords import PasswordRefused, change_own_password
    from threadline.workspace.reads import find_workspace, signed_in_agent, sole_workspace_of_email
    from threadline.workspace.setup import SetupStep, setup_steps
    from threadline.workspace.sign_up_links import (
        IssuedLink,
        LinkNotUsable,
        invitations_of,
        invite_again,
        invite_agent,
        open_link,
        record_link_mail,
        reset_link_asked_for,
        reset_link_from_admin,
        use_link,
    )
    from threadline.workspace.teams import create_team, list_teams, rename_team, set_members
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(
        __name__,
        [
            "agents",
            "api_keys",
            "auth",
            "create",
            "email_domains",
            "inbox_addresses",
            "inbox_traffic",
            "inboxes",
            "mailboxes",
            "passwords",
            "reads",
            "setup",
            "sign_up_links",
            "teams",
        ],
    )

__all__ = [
    "API_KEY_PREFIX",
    "FAST_HASHING",
    "FAST_HASHING_VARIABLE",
    "AuthenticationFailed",
    "FolderCursor",
    "InboxTraffic",
    "IssuedLink",
    "LinkNotUsable",
    "NewAgent",
    "PasswordRefused",
    "SetupStep",
    "add_agent",
    "add_inbox",
    "advance_folder",
    "all_email_domains",
    "allow_email_domain",
    "api_key_view",
    "change_own_password",
    "create_agent",
    "create_inbox",
    "create_team",
    "create_workspace",
    "decode_token",
    "email_domain_view",
    "email_inbox_for",
    "email_inboxes",
    "find_workspace",
    "hash_password",
    "inbox_by_id",
    "inbox_for_check",
    "invitations_of",
    "invite_again",
    "invite_agent",
    "issue_api_key",
    "issue_token",
    "list_agents",
    "list_api_keys",
    "list_email_domains",
    "list_inboxes",
    "list_teams",
    "mail_sending_inbox",
    "open_link",
    "principal_for_agent",
    "principal_for_api_key",
    "record_link_mail",
    "rename_team",
    "reset_link_asked_for",
    "reset_link_from_admin",
    "revoke_api_key",
    "revoke_email_domain",
    "set_members",
    "set_own_presence",
    "setup_steps",
    "show_agent",
    "sign_in",
    "sign_out",
    "signed_in_agent",
    "sole_workspace_of_email",
    "start_folder",
    "team_ids_of",
    "traffic_of",
    "update_agent",
    "update_inbox",
    "use_link",
    "workspace_by_slug",
]
