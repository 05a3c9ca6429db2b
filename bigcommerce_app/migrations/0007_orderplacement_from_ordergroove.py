"""OrderPlacement joins bigcommerce_app from the ordergroove app (issue 16), keeping its table.

State only: the table `ordergroove_orderplacement` was created by ordergroove 0002 and keeps its rows; ordergroove
0007 removed the model from that app's state, this migration adds it to this one with the same table, index and
constraint names, so a fresh database and an existing one end in the same schema."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bigcommerce_app', '0006_storefront_scripts_pages'),
        ('ordergroove', '0007_orderplacement_moves_to_bigcommerce_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OrderPlacement',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('og_order_id', models.CharField(max_length=64, verbose_name='Ordergroove order id (orderOgId)')),
                        ('og_order_public_id', models.CharField(blank=True, default='', max_length=64, verbose_name='orderPublicId')),
                        ('merchant_user_id', models.CharField(blank=True, default='', max_length=64, verbose_name='customerPartnerId')),
                        ('state', models.CharField(choices=[('processing', 'Processing'), ('succeeded', 'Placed'), ('failed', 'Failed')], default='processing', max_length=16)),
                        ('bc_order_id', models.BigIntegerField(blank=True, null=True)),
                        ('bc_order_status', models.CharField(blank=True, default='', max_length=32)),
                        ('answer_code', models.CharField(blank=True, default='', max_length=16)),
                        ('error_code', models.CharField(blank=True, default='', max_length=8)),
                        ('error_message', models.TextField(blank=True, default='')),
                        ('answer_xml', models.TextField(blank=True, default='')),
                        ('attempts', models.PositiveIntegerField(default=1)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('request_sha256', models.CharField(blank=True, default='', max_length=64)),
                        ('currency', models.CharField(blank=True, default='', max_length=3)),
                        ('total', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('free_shipping', models.BooleanField(default=False)),
                        ('coupon_codes', models.JSONField(blank=True, default=list)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                        ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='og_placements', to='bigcommerce_app.store')),
                    ],
                    options={
                        'db_table': 'ordergroove_orderplacement',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['store', 'bc_order_id'], name='ordergroove_store_i_b27211_idx'), models.Index(fields=['store', 'merchant_user_id'], name='ordergroove_store_i_8252d2_idx'), models.Index(fields=['store', 'og_order_public_id'], name='ordergroove_store_i_edc1ef_idx')],
                        'constraints': [models.UniqueConstraint(fields=('store', 'og_order_id'), name='uniq_og_placement_per_store')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
