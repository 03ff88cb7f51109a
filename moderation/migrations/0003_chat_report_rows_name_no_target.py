"""A chat report's audit row no longer names the reported person as its target, so it stays out of
their data export (where it would point at the reporter). Who was reported is still read through
the row's message; reversing puts the target back from it."""

from django.db import migrations

KIND = "moderation.report.filed"


def forget_targets(apps, schema_editor):
    AuditEntry = apps.get_model("moderation", "AuditEntry")
    # Only rows whose message still says who was reported, so nothing is lost.
    AuditEntry.objects.filter(kind=KIND, message__isnull=False).update(target=None)


def restore_targets(apps, schema_editor):
    AuditEntry = apps.get_model("moderation", "AuditEntry")
    for entry in AuditEntry.objects.filter(kind=KIND, target__isnull=True, message__isnull=False).select_related(
        "message"
    ):
        entry.target_id = entry.message.author_id
        entry.save(update_fields=["target"])


class Migration(migrations.Migration):
    dependencies = [("moderation", "0002_report_a_private_message")]

    operations = [migrations.RunPython(forget_targets, restore_targets)]
