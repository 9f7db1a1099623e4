"""Team moved to the people app; its table (tickets_team) stays where it is."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('escalation', '0004_group_members'),
        ('people', '0001_initial'),
    ]

    operations = [
        # The table stays; only Django's idea of which app's model it belongs to changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='expertgroup',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='expert_groups', to='people.team'),
                ),
            ],
            database_operations=[],
        ),
    ]
