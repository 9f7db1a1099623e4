"""Team and Membership, moved here from tickets with their tables (tickets_team,
tickets_membership): no table is made, the state takes over the existing ones."""

import django.core.validators
import django.db.models.deletion
import people.models
import re
from django.conf import settings
from django.db import migrations, models


def _content_types(apps, schema_editor, *, old, new):
    """Keep the admin permissions given on teams and memberships: their content types
    change app instead of new ones being made beside the old."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    for model in ('team', 'membership'):
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    _content_types(apps, schema_editor, old='tickets', new='people')


def backwards(apps, schema_editor):
    _content_types(apps, schema_editor, old='people', new='tickets')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
        # The tables are made by tickets' migrations (when the models lived there).
        ('tickets', '0010_ticket_due_at_deskflow'),
    ]

    operations = [
        # The table stays; only Django's idea of which app's model it belongs to changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Team',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(unique=True)),
                        ('name', models.CharField(max_length=100)),
                        ('ticket_prefix', models.CharField(help_text='Ticket numbers read PREFIX-1234.', max_length=10, unique=True, validators=[django.core.validators.RegexValidator(re.compile('^[A-Z][A-Z0-9]{1,9}$'), '2-10 capitals or digits, starting with a letter')])),
                        ('support_address', models.EmailField(help_text='The address users write to, e.g. the list.', max_length=254)),
                        ('time_zone', models.CharField(default='Europe/Zurich', max_length=64, validators=[people.models._validate_time_zone])),
                        ('last_ticket_number', models.PositiveIntegerField(default=0, editable=False, help_text='Counter behind ticket numbers; only services move it.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'tickets_team',
                        'ordering': ['name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('ticket_prefix__regex', '^[A-Z][A-Z0-9]{1,9}$')), name='team_ticket_prefix_format')],
                    },
                ),
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('shifter', 'First-level shifter'), ('trainee', 'Trainee shifter'), ('coordinator', 'Coordinator'), ('expert', 'Expert'), ('admin', 'Team admin')], max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
                        ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='people.team')),
                    ],
                    options={
                        'db_table': 'tickets_membership',
                        'constraints': [models.UniqueConstraint(fields=('team', 'user', 'role'), name='membership_unique_role')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
