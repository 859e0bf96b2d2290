from __future__ import annotations

from ninja import Router, Schema

from loxodon.core.schemas import ApiRequest
from loxodon.org.selectors import departments_for, sites_for, staff_for

router = Router(tags=["organisation"])


class SiteOut(Schema):
    code: str
    name: str
    time_zone: str
    country: str


class DepartmentOut(Schema):
    code: str
    name: str


class StaffOut(Schema):
    username: str
    name: str
    role: str
    site: str | None
    department: str | None


@router.get("/sites", response=list[SiteOut])
def list_sites(request: ApiRequest) -> list[SiteOut]:
    return [SiteOut.model_validate(s, from_attributes=True) for s in sites_for(request.auth)]


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request: ApiRequest) -> list[DepartmentOut]:
    return [
        DepartmentOut.model_validate(d, from_attributes=True) for d in departments_for(request.auth)
    ]


@router.get("/staff", response=list[StaffOut])
def list_staff(request: ApiRequest) -> list[StaffOut]:
    return [
        StaffOut(
            username=u.username,
            name=u.display_name,
            role=u.role,
            site=u.site.code if u.site else None,
            department=u.department.code if u.department else None,
        )
        for u in staff_for(request.auth)
    ]
