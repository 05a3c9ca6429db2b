"""OrderPlacement moves to the bigcommerce_app app (issue 16: the placement flow lives in bigcommerce_app/placement).

State only: the table `ordergroove_orderplacement` stays where it is, with its rows, indexes and constraints;
bigcommerce_app 0007 adds the model to its own state with `db_table` set to this table."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ordergroove', '0006_og_event_job'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OrderPlacement')],
            database_operations=[],
        ),
    ]
