"""Django's ModelBackend, with a user's permissions read in one query (#17).

Every console page checks a permission (``permission_required``, ``perms`` in the
navigation), and ModelBackend reads them in two queries per request: the user's own,
then their groups'. Roles are groups here, so both are one join away; this backend
reads the union at once and fills the same per-request cache (``_perm_cache``) that
ModelBackend and allauth's backend (a ModelBackend too) read back.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class PermissionsInOneQueryBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                held = Permission.objects.all()
            else:
                held = Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in held.values_list("content_type__app_label", "codename")
                .order_by()
                .distinct()
            }
        return user_obj._perm_cache
