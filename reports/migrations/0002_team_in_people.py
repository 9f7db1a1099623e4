"""Team moved to the people app; its table (tickets_team) stays where it is."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0001_initial'),
        ('reports', '0001_initial'),
    ]

    operations = [
        # The table stays; only Django's idea of which app's model it belongs to changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='escalationfigures',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='ticketfigures',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='weeklymail',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='people.team'),
                ),
            ],
            database_operations=[],
        ),
    ]
