# CSV exports become durable jobs (middleware.plumbing.jobs): attempts (slices), the next slice's due time and
# a lease. Status, heartbeat_at, started_at, finished_at, error and the counters keep their meaning; a running
# export's lease runs from its last heartbeat, as long as the heartbeat alone kept it alive before (10 minutes).

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F

LEASE = timedelta(minutes=10)  # ProductExportJob.job_lease_seconds, the former EXPORT_STALE_AFTER


def leases_from_heartbeats(apps, schema_editor):
    ProductExportJob = apps.get_model("feeds", "ProductExportJob")
    ProductExportJob.objects.filter(started_at__isnull=False).update(attempts=1)
    running = ProductExportJob.objects.filter(status="running")
    running.filter(heartbeat_at__isnull=False).update(lease_until=F("heartbeat_at") + LEASE)
    running.filter(heartbeat_at__isnull=True).update(lease_until=F("created_at") + LEASE)


class Migration(migrations.Migration):

    dependencies = [
        ('bigcommerce_app', '0006_storefront_scripts_pages'),
        ('feeds', '0008_product_import_check_job'),
    ]

    operations = [
        migrations.AddField(
            model_name='productexportjob',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='productexportjob',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='productexportjob',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(leases_from_heartbeats, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='productexportjob',
            index=models.Index(fields=['status', 'created_at'], name='feeds_produ_status_3154ca_idx'),
        ),
    ]
