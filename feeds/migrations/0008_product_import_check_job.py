# A large import's worker check becomes a durable job (middleware.plumbing.jobs) with a status of its own,
# check_status; the import's status keeps its meaning. Imports still CHECKING get a pending check, which the
# sweep sends (past IMPORT_START_DEADLINE the check rejects the file: nothing was applied, as the console said).

from django.db import migrations, models


def checking_imports_to_pending_checks(apps, schema_editor):
    ProductSettingsImport = apps.get_model("feeds", "ProductSettingsImport")
    ProductSettingsImport.objects.filter(status="checking").update(check_status="pending")


class Migration(migrations.Migration):

    dependencies = [
        ('bigcommerce_app', '0006_storefront_scripts_pages'),
        ('feeds', '0007_feedrun_job'),
    ]

    operations = [
        migrations.AddField(
            model_name='productsettingsimport',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='productsettingsimport',
            name='check_status',
            field=models.CharField(blank=True, choices=[('', 'No check'), ('pending', 'Waiting for a worker'), ('running', 'Being checked'), ('done', 'Decided'), ('failed', 'Failed')], default='', max_length=16),
        ),
        migrations.AddField(
            model_name='productsettingsimport',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='productsettingsimport',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(checking_imports_to_pending_checks, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='productsettingsimport',
            index=models.Index(fields=['check_status', 'created_at'], name='feeds_produ_check_s_ab7ad8_idx'),
        ),
    ]
