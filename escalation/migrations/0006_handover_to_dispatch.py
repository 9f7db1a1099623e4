"""Handover moved to the dispatch app; its table (escalation_handover) stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('escalation', '0005_team_in_people'),
        ('dispatch', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='Handover',
                ),
            ],
            database_operations=[],
        ),
    ]
