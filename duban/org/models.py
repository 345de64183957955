"""Regions (行政区划), units (责任单位) and memberships: who acts where, in which role."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def region_path(code: str) -> str:
    """The significant prefix of a GB/T 2260 code: 330000→33, 330500→3305, 330502→330502.

    A region's path is a prefix of every path below it, so a subtree is one
    `startswith` query on an index.
    """
    code = code.strip()
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / street")
    VILLAGE = "village", _("Village")


class Region(models.Model):
    """行政区划: an administrative division with its national code."""

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=12, unique=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = region_path(self.code)
        super().save(*args, **kwargs)

    def full_name(self) -> str:
        names, region = [], self
        while region is not None:
            names.append(region.name)
            region = region.parent
        return "".join(reversed(names))


class UnitKind(models.TextChoices):
    OFFICE = "office", _("Rectification office")
    GOVERNMENT = "government", _("Government")
    DEPARTMENT = "department", _("Department")
    DISCIPLINE = "discipline", _("Discipline commission")
    ACCEPTANCE = "acceptance", _("Acceptance team")
    OTHER = "other", _("Other")


class Unit(models.Model):
    """责任单位: a responsible unit in a region, possibly under a parent unit."""

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # "/12/40/": the ids from the root down, so a subtree is a prefix query.
    path = models.CharField(max_length=255, editable=False, db_index=True)

    class Meta:
        ordering = ["region__code", "name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="unit_name_unique_in_region")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if path != self.path:
            self.path = path
            Unit.objects.filter(pk=self.pk).update(path=path)

    def subtree(self):
        from .scope import under  # scope reads these models; asked here at call time

        return Unit.objects.filter(under("path", self.path))

    @property
    def label(self) -> str:
        """The short name where the unit has one (tables are narrow), else the full name."""
        return self.short_name or self.name


class Role(models.TextChoices):
    OFFICE = "office", _("Rectification office staff")
    LIAISON = "liaison", _("Unit liaison")
    UNIT_HEAD = "unit_head", _("Unit head")
    LEAD_OFFICIAL = "lead_official", _("Lead official")
    ACCEPTOR = "acceptor", _("Acceptor")
    DISCIPLINE = "discipline", _("Discipline inspector")
    AUDITOR = "auditor", _("Audit administrator")
    SYSADMIN = "sysadmin", _("System administrator")
    VIEWER = "viewer", _("Viewer")


# Roles that read business data (problems, evidence); auditor and sysadmin do not (三员分立).
BUSINESS_ROLES = {
    Role.OFFICE,
    Role.LIAISON,
    Role.UNIT_HEAD,
    Role.LEAD_OFFICIAL,
    Role.ACCEPTOR,
    Role.DISCIPLINE,
    Role.VIEWER,
}
# Roles whose scope is the unit's region subtree rather than the unit subtree.
REGION_ROLES = {Role.OFFICE, Role.ACCEPTOR, Role.DISCIPLINE, Role.VIEWER}
# Roles whose scope is the unit and the units below it (纵向到底).
UNIT_ROLES = {Role.LIAISON, Role.UNIT_HEAD}


class Membership(models.Model):
    """A user holds a role in a unit; scope follows from the unit."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"
