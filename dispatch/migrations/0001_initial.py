"""Handover, moved here from escalation with its table (escalation_handover): no table is
made, the state takes over the existing one."""

import django.db.models.deletion
from django.db import migrations, models


def _content_type(apps, schema_editor, *, old, new):
    """Keep the admin permissions given on handovers: the content type changes app."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model='handover').exists():
        ContentType.objects.using(db).filter(app_label=old, model='handover').update(app_label=new)


def forwards(apps, schema_editor):
    _content_type(apps, schema_editor, old='escalation', new='dispatch')


def backwards(apps, schema_editor):
    _content_type(apps, schema_editor, old='dispatch', new='escalation')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('shifts', '0003_team_in_people'),
        ('contenttypes', '0002_remove_content_type_name'),
        # The table is made by escalation's migrations (when the model lived there).
        ('escalation', '0005_team_in_people'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Handover',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField(help_text="The slot's local date (the day it started).")),
                        ('done_at', models.DateTimeField()),
                        ('tickets_moved', models.PositiveIntegerField(default=0)),
                        ('zone', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handovers', to='shifts.zone')),
                    ],
                    options={
                        'db_table': 'escalation_handover',
                        'ordering': ['-day', 'zone'],
                        'constraints': [models.UniqueConstraint(fields=('zone', 'day'), name='handover_once_per_slot')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
