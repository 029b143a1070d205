"""Audit entries for what Django itself does (DESIGN §10): sign-ins, failed sign-ins, admin edits.

Job actions write their own entries in the job services; deploys through `manage.py record_deploy`.
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from translations.figures import SIGN_IN_FAILED
from translations.services.audit import audit_record

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(user_logged_in, dispatch_uid="audit-sign-in")
def audit_sign_in(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="auth.sign_in", obj=user, details=_client(request))


@receiver(user_login_failed, dispatch_uid="audit-sign-in-failed")
def audit_sign_in_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    # Only the name tried: Django has already masked the password, and we keep none of it.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=None,
        action=SIGN_IN_FAILED,
        message=f"failed sign-in as {username!r}",
        details={"username": username, **_client(request)},
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="audit-admin-edit")
def audit_admin_edit(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    audit_record(
        actor=instance.user,
        action=ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        message=f"{instance.content_type} {instance.object_repr}: {instance.get_change_message()}"[:2000],
        details={"content_type": str(instance.content_type), "object_id": instance.object_id or ""},
    )


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", ""), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}
