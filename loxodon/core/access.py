"""Who may read what. Every selector that returns customer data calls one of these first.

Today every reader of the API and desk is staff (agents see customers of every site: one
company). Customers reading their own data arrive with the portal; their check lives here too.
"""

from __future__ import annotations

from typing import Any

from loxodon.core.errors import NotFound, PermissionDenied


def require_staff(user: Any) -> None:
    """Staff of any role may read customers of every site; anyone else sees nothing."""
    if not (user is not None and user.is_authenticated and user.is_active and user.is_staff_member):
        raise NotFound("not found")


def require_admin(user: Any) -> None:
    require_staff(user)
    if not user.is_admin_role:
        raise PermissionDenied("this needs the admin role")


def require_supervisor(user: Any, why: str = "this needs a supervisor or an admin") -> None:
    """Supervisors and admins only: non-staff see nothing (404), agents are refused (403)."""
    require_staff(user)
    if not (user.role in ("supervisor", "admin") or user.is_admin_role):
        raise PermissionDenied(why)
