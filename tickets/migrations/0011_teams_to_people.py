"""Team and Membership moved to the people app; their tables stay (tickets_team,
tickets_membership), so this only tells Django's state."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('escalation', '0005_team_in_people'),
        ('people', '0001_initial'),
        ('reports', '0002_team_in_people'),
        ('shifts', '0003_team_in_people'),
        ('tickets', '0010_ticket_due_at_deskflow'),
    ]

    operations = [
        # The table stays; only Django's idea of which app's model it belongs to changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='ticketevent',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='mailbox',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='mailboxes', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='rawmessage',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='raw_messages', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='cannedanswer',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='canned_answers', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='outboundmail',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='outbound_mail', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='tag',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='people.team'),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='people.team'),
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='Team',
                ),
            ],
            database_operations=[],
        ),
    ]
