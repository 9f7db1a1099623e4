# The production image: web (gunicorn), worker, beat and the mail fetcher all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DAST_VAR_DIR=/var/lib/dast STATIC_MANIFEST=1 \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN useradd --system --home-dir /var/lib/dast --create-home dast \
    && install -d -o dast /var/lib/dast/media

COPY pyproject.toml README.md ./
COPY common ./common
COPY people ./people
COPY dast ./dast
COPY tickets ./tickets
COPY shifts ./shifts
COPY dispatch ./dispatch
COPY escalation ./escalation
COPY accounts ./accounts
COPY retention ./retention
COPY grid ./grid
COPY reports ./reports
COPY notifications ./notifications
RUN pip install --no-cache-dir .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings but no database or real secret.
RUN SECRET_KEY=build ALLOWED_HOSTS=build python manage.py collectstatic --no-input -v 0

USER dast
EXPOSE 8000
CMD ["gunicorn", "dast.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--logger-class", "dast.gunicorn_logging.RedactingLogger"]
