# Feed runs become durable jobs (middleware.plumbing.jobs): attempts, retry time and lease. The run's status,
# heartbeat_at, finished_at and error keep their meaning; a running run's lease runs from its last heartbeat.

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def leases_from_heartbeats(apps, schema_editor):
    """A run that started counts one attempt; a running one holds its lease until its heartbeat times out, as
    the heartbeat alone decided before (FEED_RUN_HEARTBEAT_TIMEOUT_SECONDS)."""
    FeedRun = apps.get_model("feeds", "FeedRun")
    FeedRun.objects.filter(started_at__isnull=False).update(attempts=1)
    timeout = timedelta(seconds=getattr(settings, "FEED_RUN_HEARTBEAT_TIMEOUT_SECONDS", 10 * 60))
    FeedRun.objects.filter(status="running", heartbeat_at__isnull=False).update(
        lease_until=F("heartbeat_at") + timeout)


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0006_feedrun_status_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='feedrun',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='feedrun',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='feedrun',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(leases_from_heartbeats, migrations.RunPython.noop),
    ]
