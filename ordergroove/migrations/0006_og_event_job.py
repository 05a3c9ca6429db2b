# Ordergroove events become durable jobs (middleware.plumbing.jobs): status, attempts, retry time and lease;
# processed_at keeps its meaning (when the event was acted on) and sets the status of the events already stored.

from django.db import migrations, models


def processed_at_to_status(apps, schema_editor):
    """An event with processed_at was acted on: processed (one attempt). The others stay pending: the sweep
    processes them, as it did while processed_at was null."""
    OrdergrooveEvent = apps.get_model("ordergroove", "OrdergrooveEvent")
    OrdergrooveEvent.objects.filter(processed_at__isnull=False).update(status="processed", attempts=1)


class Migration(migrations.Migration):

    dependencies = [
        ('bigcommerce_app', '0006_storefront_scripts_pages'),
        ('ordergroove', '0005_storefront_settings'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ordergrooveevent',
            name='ordergroove_process_4ea8ee_idx',
        ),
        migrations.AddField(
            model_name='ordergrooveevent',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='ordergrooveevent',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ordergrooveevent',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ordergrooveevent',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('processing', 'Processing'),
                                            ('processed', 'Processed'), ('failed', 'Failed')],
                                   default='pending', max_length=16),
        ),
        migrations.RunPython(processed_at_to_status, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='ordergrooveevent',
            index=models.Index(fields=['status', 'received_at'], name='ordergroove_status_ca563c_idx'),
        ),
    ]
