"""What someone needs to try the demo: where to go, who to log in as, a token, whom to look at."""

from __future__ import annotations

from loxodon.demo.centres import thomas_in_database
from loxodon.demo.seeding import LOGINS
from loxodon.demo.stories import find_story_customers
from loxodon.demo.world import PASSWORD
from loxodon.org.selectors import get_active_staff
from loxodon.org.services import create_api_token
from loxodon.portal.models import PortalLogin

TOKEN_USER = "agent"  # noqa: S105 - a username, not a secret


def demo_logins_text(*, host: str, port: int) -> str:
    """The demo's front door, as printed by `loxodon demo_logins`; issues a fresh API token."""
    base = f"http://{host}:{port}"
    lines = [
        "Loxodon demo",
        f"  Agent desk     {base}/desk/",
        f"  Django admin   {base}/admin/",
        f"  API docs       {base}/api/v1/docs",
        f"  Web chat       {base}/desk/chats/  (try the customer side: {base}/desk/chats/demo/)",
        f"  Customer portal {base}/portal/  (help centre without signing in: {base}/portal/help/)",
        "  Outbound email var/outbox/ (one file per sent message; the task worker runs beside)",
        "",
        f'Logins (password for every demo login: "{PASSWORD}")',
    ]
    for username in LOGINS:
        user = get_active_staff(username)
        where = ", ".join(
            x
            for x in (
                user.department.name if user.department else "",
                user.site.name if user.site else "",
            )
            if x
        )
        lines.append(
            f"  {username:<12} {user.role:<11} {user.display_name}"
            + (f" ({where})" if where else "")
        )
    lines += ["", "Customer portal logins (same password; or ask for a sign-in link by email):"]
    for login in PortalLogin.objects.select_related("customer", "identity").order_by("created_at"):
        how = "password or link" if login.password else "emailed link only"
        admin = ", account admin" if login.is_account_admin else ""
        lines.append(f"  {login.email:<42} {login.customer.name} ({how}{admin})")
    token = create_api_token(username=TOKEN_USER, name="demo")
    lines += [
        "",
        f"API token for '{TOKEN_USER}' (send it as 'Authorization: Bearer <token>'):",
        f"  {token}",
        f"  e.g. curl -H 'Authorization: Bearer {token}' {base}/api/v1/sites",
        "",
        "Story customers (the 360 view: API, then the desk page):",
    ]
    for story, customer in find_story_customers():
        if customer is None:
            lines.append(f"  Story {story.number}: {story.name} — not in this database")
            continue
        lines += [
            f"  Story {story.number}: {customer.name} ({story.account_number}) — {story.headline}",
            f"    {base}/api/v1/customers/{customer.pk}/view",
            f"    {base}/desk/customers/{customer.pk}/",
        ]
    thomas = thomas_in_database()
    if thomas is not None:
        lines += [
            "  Story 4: Thomas Hargreaves — five centres' legacy exports imported and linked into "
            "one customer; his son, who shares his name, address and email, waits in the review "
            "queue (sign in as 'supervisor')",
            f"    {base}/desk/customers/{thomas.pk}/",
            f"    {base}/desk/identity/reviews/",
        ]
    return "\n".join(lines)
