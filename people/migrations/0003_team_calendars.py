"""Every existing team gets the working calendar it had until now: Monday to Friday, from
WORKDAY_START for WORKDAY_HOURS (cut at midnight), in the team's time zone, no holidays
(its closures still apply), so no target moves."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import migrations

NAME = "Working days"


def _end_of_day(start, hours):
    end = datetime.combine(datetime.min.date(), start) + timedelta(hours=hours)
    return end.time() if end.date() == datetime.min.date() else datetime.min.time()


def forwards(apps, schema_editor):
    Team = apps.get_model("people", "Team")
    WorkingCalendar = apps.get_model("people", "WorkingCalendar")
    db = schema_editor.connection.alias
    start = settings.WORKDAY_START
    end = _end_of_day(start, settings.WORKDAY_HOURS)
    for team in Team.objects.using(db).filter(calendar__isnull=True):
        calendar, _ = WorkingCalendar.objects.using(db).get_or_create(
            team=team,
            name=NAME,
            defaults={
                "weekdays": "12345",
                "starts_at": start,
                "ends_at": end,
                "time_zone": team.time_zone,
            },
        )
        Team.objects.using(db).filter(pk=team.pk).update(calendar=calendar)


def backwards(apps, schema_editor):
    apps.get_model("people", "Team").objects.using(schema_editor.connection.alias).update(
        calendar=None
    )


class Migration(migrations.Migration):
    dependencies = [("people", "0002_working_calendars")]

    operations = [migrations.RunPython(forwards, backwards)]
