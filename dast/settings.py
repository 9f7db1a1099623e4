"""DAST Desk settings, read once from the environment.

Every value comes from an environment variable through the helpers in ``dast.env``, which fail
loudly on a value they cannot understand. The defaults are the embedded set-up of ``make run``
(SQLite and a filesystem broker under ``var/``); production sets ``DEBUG=0`` and real servers.
"""

from __future__ import annotations

import ipaddress as _ipaddress
import os as _os
from datetime import time as _time
from pathlib import Path

import dj_database_url
from kombu import Queue as KombuQueue

from dast.beat import OnePending
from dast.env import SettingError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("DAST_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else None)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "dast",
    "people",
    "tickets",
    "shifts",
    "dispatch",
    "escalation",
    "grid",
    "reports",
    "social_django",
    "accounts",
    "retention",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dast.middleware.RejectNulMiddleware",
    "dast.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dast.middleware.ViewerTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dast.urls"
WSGI_APPLICATION = "dast.wsgi.application"
ASGI_APPLICATION = "dast.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dast.sqlite3'}")
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as exc:
    raise SettingError(f"DATABASE_URL cannot be understood: {exc}") from None
if _database["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise SettingError(f"DATABASE_URL: {_database['ENGINE']} is not supported (PostgreSQL, SQLite)")
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serves the laptop set-up, where web, worker and beat share one file.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits and throttles count here, so it must be shared by all processes) -----
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif not CACHE_URL:
    # The embedded set-up: files under var/, shared by the web server and the worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
else:
    raise SettingError("CACHE_URL must be redis:// or rediss:// (or empty: files under var/)")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_FOLDER = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: the embedded default, needs no server. One folder
    # serves as both in- and out-box so that web, worker and beat see the same queue. The
    # exchange tables go under var/ too (kombu's default is `control/` in the working folder).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "processed_folder": str(BROKER_FOLDER / "processed"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise SettingError("CELERY_BROKER_URL must be redis://, rediss:// or filesystem://")
# One queue per kind of background work, so that a backlog in one never delays another (a
# flood of mail to send cannot hold up the timers). A worker started without -Q consumes all
# of them (make run); production runs a worker per queue (docker-compose.yml).
CELERY_QUEUE_DEFAULT, CELERY_QUEUE_OUTBOX, CELERY_QUEUE_TIMERS, CELERY_QUEUE_EVENTS = (
    "celery",
    "outbox",
    "timers",
    "events",
)
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_DEFAULT
CELERY_TASK_QUEUES = [
    KombuQueue(name, routing_key=name)
    for name in (
        CELERY_QUEUE_DEFAULT,
        CELERY_QUEUE_OUTBOX,
        CELERY_QUEUE_TIMERS,
        CELERY_QUEUE_EVENTS,
    )
]
CELERY_TASK_ROUTES = {
    "tickets.tasks.outbound_send_task": {"queue": CELERY_QUEUE_OUTBOX},
    "tickets.tasks.outbox_sweep_task": {"queue": CELERY_QUEUE_OUTBOX},
    "escalation.tasks.timer_sweep_task": {"queue": CELERY_QUEUE_TIMERS},
    "tickets.tasks.events_sweep_task": {"queue": CELERY_QUEUE_EVENTS},
    "notifications.tasks.webhook_sweep_task": {"queue": CELERY_QUEUE_OUTBOX},
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
HEARTBEAT_INTERVAL_S = env_int("HEARTBEAT_INTERVAL_S", 30, minimum=1)

# --- mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "sent-mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise SettingError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# The outbox retries a failed send after OUTBOX_RETRY_BASE_S * 2**attempts (capped at an hour).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 20, minimum=1)
OUTBOX_RETRY_BASE_S = env_int("OUTBOX_RETRY_BASE_S", 30, minimum=1)
OUTBOX_SWEEP_INTERVAL_S = env_int("OUTBOX_SWEEP_INTERVAL_S", 10, minimum=1)
# At most this many acknowledgements to one address per hour (a mail loop stops here).
ACK_LIMIT_PER_HOUR = env_int("ACK_LIMIT_PER_HOUR", 5, minimum=0)
# A reply to a closed ticket reopens it within this many days; later it opens a follow-up.
REOPEN_WINDOW_DAYS = env_int("REOPEN_WINDOW_DAYS", 30, minimum=0)

# --- escalation and timers ---------------------------------------------------------------
# Links to other trackers; {key} is the reference (ATLASPANDA-426, 123456).
EXTERNAL_REF_URLS = {
    "jira": env_str("JIRA_URL_TEMPLATE", "https://its.cern.ch/jira/browse/{key}"),
    "ggus": env_str(
        "GGUS_URL_TEMPLATE", "https://ggus.eu/index.php?mode=ticket_info&ticket_id={key}"
    ),
}
# Grid monitors, for the ids found in tickets ({id}, {name}, {scope}).
GRID_MONITOR_URLS = {
    "task": env_str("MONITOR_TASK_URL", "https://bigpanda.cern.ch/task/{id}/"),
    "job": env_str("MONITOR_JOB_URL", "https://bigpanda.cern.ch/job?pandaid={id}"),
    "dataset": env_str(
        "MONITOR_DATASET_URL", "https://rucio-ui.cern.ch/did?scope={scope}&name={name}"
    ),
    "queue": env_str("MONITOR_QUEUE_URL", "https://bigpanda.cern.ch/site/{name}/"),
    "site": env_str("MONITOR_SITE_URL", "https://atlas-cric.cern.ch/core/rse/detail/{name}/"),
}
# A ticket page shows the thread's first message and the latest THREAD_LATEST_MESSAGES; "show
# older" loads the others THREAD_OLDER_PAGE at a time.
THREAD_LATEST_MESSAGES = env_int("THREAD_LATEST_MESSAGES", 50, minimum=1)
THREAD_OLDER_PAGE = env_int("THREAD_OLDER_PAGE", 100, minimum=1)
# The queue page refreshes itself this often while it is open and nobody is using it.
QUEUE_REFRESH_SECONDS = env_int("QUEUE_REFRESH_SECONDS", 60, minimum=1)
# JIRA projects whose keys (ATLASPANDA-426) are recognised in mail.
JIRA_PROJECTS = env_list(
    "JIRA_PROJECTS",
    "ATLASPANDA,ADCSUPPORT,ATLDDMOPS,ADCINFR,ATLINFR,ATLASJT,RUCIO,AMI,ATLASG,ATLASRECTS",
)
# Working hours, in which expert/site targets and waiting-on-user reminders count.
try:
    WORKDAY_START = _time.fromisoformat(env_str("WORKDAY_START", "08:00"))
except ValueError:
    raise SettingError("WORKDAY_START must be a time of day, e.g. 08:00") from None
WORKDAY_HOURS = env_int("WORKDAY_HOURS", 8, minimum=1)
# Response targets, in working hours (a working day is WORKDAY_HOURS), by group kind.
EXPERT_TARGET_HOURS = env_int("EXPERT_TARGET_HOURS", 8, minimum=1)
SITE_TARGET_HOURS = env_int("SITE_TARGET_HOURS", 16, minimum=1)
# Reminder to the group, and escalation to the next level, at these percents of the target.
ESCALATION_REMIND_PERCENT = env_int("ESCALATION_REMIND_PERCENT", 100, minimum=1)
ESCALATION_NEXT_LEVEL_PERCENT = env_int("ESCALATION_NEXT_LEVEL_PERCENT", 200, minimum=1)
# The shifter's own first answer, in covered (shift) hours.
FIRST_RESPONSE_COVERED_HOURS = env_int("FIRST_RESPONSE_COVERED_HOURS", 2, minimum=1)
# Waiting on the user: reminders after these working days, then resolved with a notice.
try:
    WAITING_USER_REMIND_DAYS = sorted(int(d) for d in env_list("WAITING_USER_REMIND_DAYS", "5"))
except ValueError:
    raise SettingError("WAITING_USER_REMIND_DAYS must be whole days, e.g. 5 or 3,7") from None
WAITING_USER_RESOLVE_DAYS = env_int("WAITING_USER_RESOLVE_DAYS", 10, minimum=1)
if any(day >= WAITING_USER_RESOLVE_DAYS or day < 1 for day in WAITING_USER_REMIND_DAYS):
    raise SettingError("WAITING_USER_REMIND_DAYS must be 1 or more and before the resolve day")
# The beat sweep over due timers; one indexed query, so it can run often.
# The ticket event log's consumers (tickets.events): the beat sweep's interval, how
# many deliveries one transaction claims, retries with backoff EVENT_RETRY_BASE_S * 2**n
# (capped at an hour) until EVENT_MAX_ATTEMPTS, and the lag past which /healthz says 503.
EVENT_SWEEP_INTERVAL_S = env_int("EVENT_SWEEP_INTERVAL_S", 2, minimum=1)
# The cache key that says a sweep is asked for and has not started (a nudge or a beat tick).
EVENT_SWEEP_MARKER = "events:sweep-asked"
EVENT_SWEEP_BATCH = env_int("EVENT_SWEEP_BATCH", 400, minimum=1)
EVENT_MAX_ATTEMPTS = env_int("EVENT_MAX_ATTEMPTS", 10, minimum=1)
EVENT_RETRY_BASE_S = env_int("EVENT_RETRY_BASE_S", 10, minimum=1)
EVENT_LAG_LIMIT_S = env_int("EVENT_LAG_LIMIT_S", 300, minimum=1)
TIMER_SWEEP_INTERVAL_S = env_int("TIMER_SWEEP_INTERVAL_S", 5, minimum=1)
TIMER_SWEEP_BATCH = env_int("TIMER_SWEEP_BATCH", 500, minimum=1)
# Steps committed together (each in its own savepoint): fewer commits, and mail leaves per chunk.
TIMER_STEP_CHUNK = env_int("TIMER_STEP_CHUNK", 25, minimum=1)
# How often a response timer looks again while its escalation mail is still in the outbox.
TIMER_UNSENT_RECHECK_S = env_int("TIMER_UNSENT_RECHECK_S", 60, minimum=1)

# --- reports ----------------------------------------------------------------------------------
# Shifts a year per person that the team aims for (the credits figure marks who is outside).
REPORTS_SHIFTS_OPTIMUM = (
    env_int("REPORTS_SHIFTS_OPTIMUM_LOW", 12, minimum=0),
    env_int("REPORTS_SHIFTS_OPTIMUM_HIGH", 14, minimum=0),
)
if REPORTS_SHIFTS_OPTIMUM[0] > REPORTS_SHIFTS_OPTIMUM[1]:
    raise SettingError("REPORTS_SHIFTS_OPTIMUM_LOW must not be above REPORTS_SHIFTS_OPTIMUM_HIGH")
# The resolution target the report measures against, in covered hours (five shifts).
REPORTS_RESOLUTION_TARGET_HOURS = env_int("REPORTS_RESOLUTION_TARGET_HOURS", 40, minimum=1)
# The weekly figures mail to the coordinators: ISO weekday and local hour (team time).
REPORTS_MAIL_WEEKDAY = env_int("REPORTS_MAIL_WEEKDAY", 1, minimum=1)
REPORTS_MAIL_HOUR = env_int("REPORTS_MAIL_HOUR", 8, minimum=0)
REPORTS_MAIL_INTERVAL_S = env_int("REPORTS_MAIL_INTERVAL_S", 600, minimum=1)

# --- shifts -----------------------------------------------------------------------------------
# Credit per slot worked, by booking role (percent of a full shift).
SHIFT_CREDIT_WEIGHTS = {
    "first_level": env_int("SHIFT_CREDIT_FIRST_LEVEL", 100, minimum=0),
    "trainee": env_int("SHIFT_CREDIT_TRAINEE", 50, minimum=0),
}
# A shifter may release their own slot until this many hours before it; later, a coordinator.
SHIFT_RELEASE_NOTICE_HOURS = env_int("SHIFT_RELEASE_NOTICE_HOURS", 48, minimum=0)
# Coordinators hear about uncovered slots this many days ahead, at most once per slot a day.
SHIFT_COVERAGE_ALERT_DAYS = env_int("SHIFT_COVERAGE_ALERT_DAYS", 14, minimum=1)
SHIFT_COVERAGE_ALERT_INTERVAL_S = env_int("SHIFT_COVERAGE_ALERT_INTERVAL_S", 3600, minimum=1)
# How often the desk looks for shifts that ended, to hand their tickets over.
HANDOVER_INTERVAL_S = env_int("HANDOVER_INTERVAL_S", 60, minimum=1)
# How often beat polls the mailboxes (the embedded set-up; production runs fetch_mail).
MAIL_POLL_INTERVAL_S = env_int("MAIL_POLL_INTERVAL_S", 30, minimum=1)
# A fetcher holds a mailbox for this long unless it renews; a killed one blocks no longer.
MAIL_LEASE_SECONDS = env_int("MAIL_LEASE_SECONDS", 90, minimum=5)
# /healthz answers 503 when an active mailbox that was polled before has not been for this long.
MAIL_STALE_AFTER_S = env_int("MAIL_STALE_AFTER_S", 600, minimum=30)
# Attachments larger than this are not kept (name and size are).
MAIL_MAX_ATTACHMENT_BYTES = env_int("MAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=0)
MAIL_MAX_TOTAL_ATTACHMENT_BYTES = env_int(
    "MAIL_MAX_TOTAL_ATTACHMENT_BYTES", 25 * 1024 * 1024, minimum=0
)
# A mail larger than this is stored whole but read only up to it (parsing takes several times a
# mail's size in memory); its ticket gets a note. The fetcher fetches at most about
# MAIL_FETCH_BATCH_BYTES at once (one larger mail alone).
MAIL_MAX_RAW_BYTES = env_int("MAIL_MAX_RAW_BYTES", 50 * 1024 * 1024, minimum=1024)
MAIL_FETCH_BATCH_BYTES = env_int("MAIL_FETCH_BATCH_BYTES", 20 * 1024 * 1024, minimum=1024)
# A mail larger than this is fetched in pieces into a temporary file, stored in pieces and
# parsed from the file, its attachments over MAIL_MAX_ATTACHMENT_BYTES skipped as they are
# read: the fetcher never holds it whole (tickets.mail.stream).
MAIL_STREAM_RAW_BYTES = env_int("MAIL_STREAM_RAW_BYTES", 4 * 1024 * 1024, minimum=1024)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "DAST Desk <dast-desk@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ticket-list"
LOGOUT_REDIRECT_URL = "login"

# --- single sign-on (OpenID Connect, accounts/; python-social-auth) -------------------------
# SSO_PROVIDERS names the providers offered on the sign-in page (cern, egi); each needs its
# client id and secret (registered with the provider, redirect URI
# <SITE_URL>/sso/complete/<name>/) and may move its issuer (SSO_<NAME>_ENDPOINT, the URL
# under which /.well-known/openid-configuration is found). Password sign-in stays.
SSO_TITLES = {"cern": "CERN", "egi": "EGI Check-in"}
SSO_PROVIDERS = env_list("SSO_PROVIDERS", "")
for _name in SSO_PROVIDERS:
    if _name not in SSO_TITLES:
        raise SettingError(f"SSO_PROVIDERS: {_name!r} is not one of {', '.join(SSO_TITLES)}")
SOCIAL_AUTH_CERN_OIDC_ENDPOINT = env_str(
    "SSO_CERN_ENDPOINT", "https://auth.cern.ch/auth/realms/cern"
).rstrip("/")
SOCIAL_AUTH_CERN_KEY = env_str("SSO_CERN_CLIENT_ID", None if "cern" in SSO_PROVIDERS else "")
SOCIAL_AUTH_CERN_SECRET = env_str("SSO_CERN_CLIENT_SECRET", None if "cern" in SSO_PROVIDERS else "")
SOCIAL_AUTH_EGI_OIDC_ENDPOINT = env_str(
    "SSO_EGI_ENDPOINT", "https://aai.egi.eu/auth/realms/egi"
).rstrip("/")
SOCIAL_AUTH_EGI_KEY = env_str("SSO_EGI_CLIENT_ID", None if "egi" in SSO_PROVIDERS else "")
SOCIAL_AUTH_EGI_SECRET = env_str("SSO_EGI_CLIENT_SECRET", None if "egi" in SSO_PROVIDERS else "")
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.CernOpenIdConnect",
    "accounts.backends.EgiCheckinBackend",
]
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/tickets/"
# Accounts are matched by the provider's subject only, never by e-mail address (an address
# another provider vouches for is no proof). The last step applies the mapping rules.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "accounts.pipeline.apply_mapping_rules",
)
# Audit trail (accounts/): people's saves of these models are recorded; entries made under
# this path say they came from the admin.
AUDIT_CONFIG_MODELS = (
    "tickets.Mailbox",
    "escalation.ExpertGroup",
    "shifts.Zone",
    "people.WorkingCalendar",
    "accounts.MappingRule",
    "retention.RetentionPolicy",
)
AUDIT_ADMIN_PATH = "/admin/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DESK_TIME_ZONE = env_str("DESK_TIME_ZONE", "Europe/Zurich")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names once collectstatic has run (the Docker image does).
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (make run, tests) WhiteNoise serves straight from static/.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    # Session first: its missing credentials answer 403, as the shifts and escalation APIs
    # always have; scripts send "Authorization: Token <key>" (tokens are made in the admin).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A service's refusal (common.errors.ApplicationError) answers 400/403 with its reason.
    "EXCEPTION_HANDLER": "people.api_common.exception_handler",
    # Every API view, counted by common.ratelimit in the shared cache: per person (a script
    # stuck in a loop stops here, a shifter's tooling never gets near it), or per client
    # address for the public on-duty answer.
    "DEFAULT_THROTTLE_CLASSES": ["people.api_common.ApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": f"{env_int('API_RATE_PER_MINUTE', 600, minimum=1)}/min",
        "api_anonymous": f"{env_int('API_ANONYMOUS_RATE_PER_MINUTE', 60, minimum=1)}/min",
        "shifts_on_duty": "60/min",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DAST Desk API",
    "DESCRIPTION": "Tickets, shifts and escalations of the help desk. Sign in (session) or "
    "send `Authorization: Token <key>`; a token is made in the admin (Auth Token > Tokens).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for the desk's people, like the API itself.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The docs page loads Swagger UI from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "PATH_CONVERTER_OVERRIDES": {
        "ticketref": {"type": "string", "pattern": "^[A-Z][A-Z0-9]{1,9}-[0-9]+$"}
    },
    # Several apps have a "status", "state" or "kind": each enum gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "MessageKindEnum": "tickets.models.MessageKind",
        "DraftStateEnum": "tickets.models.DraftState",
        "GroupKindEnum": "escalation.models.GroupKind",
        "TimerKindEnum": "escalation.models.TimerKind",
        "EscalationStateEnum": "escalation.models.EscalationState",
        "TimerStateEnum": "escalation.models.TimerState",
    },
}

# --- security -------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
# The reverse proxies in front of the web server (addresses or networks, comma-separated).
# Only when the direct peer is one of them is X-Forwarded-For read: the client is its
# right-most address that is not a trusted proxy. Empty: the peer is the client.
try:
    TRUSTED_PROXIES = [
        _ipaddress.ip_network(item, strict=False) for item in env_list("TRUSTED_PROXIES", "")
    ]
except ValueError as _exc:
    raise SettingError(f"TRUSTED_PROXIES: {_exc} (addresses or networks, e.g. 10.0.0.5)") from None
if "TRUST_X_FORWARDED_FOR" in _os.environ:
    raise SettingError(
        "TRUST_X_FORWARDED_FOR is gone: it trusted X-Forwarded-For from anyone. Set "
        "TRUSTED_PROXIES to the address or network of your reverse proxy instead."
    )
# Password sign-in failures: at most this many per account and per client address within
# LOGIN_LOCKOUT_MINUTES; past them the account (or address) waits until older ones age out.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 10, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# The pages' and intake's fixed limits, by scope (common.ratelimit.hit; README, "Rate
# limits"). The REST API's are REST_FRAMEWORK's DEFAULT_THROTTLE_RATES; the sign-in failures'
# and the acknowledgements' are the LOGIN_* and ACK_LIMIT_PER_HOUR settings.
RATE_LIMITS = {
    # The public support form, per client network and per e-mail address.
    "support-ip": "5/hour",
    "support-email": "5/hour",
    # Requester sign-in links asked for: per client address (behind a proxy every client
    # shares the proxy's: see TRUSTED_PROXIES), and per e-mail address, known or not.
    "requester-signin-ip": "20/hour",
    "requester-signin-email": "5/hour",
    # Attempts to use a link (a token is 256 random bits: this only keeps robots out).
    "requester-signin-use": "30/hour",
    # Replies from the requester's page, per requester.
    "requester-reply": "20/hour",
}
SESSION_COOKIE_HTTPONLY = True
# Read from the cache, written through to the database: a page costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers and orchestrators probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Sign-in and feed tokens in URLs never reach a log line (dast/redact.py).
    "filters": {"redact": {"()": "dast.redact.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- the beat schedule: short sweeps over deadlines stored in the database ---------------
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "dast.tasks.heartbeat_task", "schedule": float(HEARTBEAT_INTERVAL_S)},
    "outbox": {
        "task": "tickets.tasks.outbox_sweep_task",
        "schedule": float(OUTBOX_SWEEP_INTERVAL_S),
        # Sends what is due itself: a tick that waited longer than an interval is stale.
        "options": {"expires": float(OUTBOX_SWEEP_INTERVAL_S)},
    },
    "mail-poll": {"task": "tickets.tasks.mail_poll_task", "schedule": float(MAIL_POLL_INTERVAL_S)},
    "route-waiting": {"task": "dispatch.tasks.route_waiting_task", "schedule": 60.0},
    "handover": {
        "task": "dispatch.tasks.handover_task",
        "schedule": float(HANDOVER_INTERVAL_S),
    },
    "events": {
        "task": "tickets.tasks.events_sweep_task",
        # One tick (or nudge) waiting at most while a sweep works a backlog off; one that
        # waited longer than an interval is dropped unrun: the next one covers it.
        "schedule": OnePending(
            float(EVENT_SWEEP_INTERVAL_S), EVENT_SWEEP_MARKER, EVENT_SWEEP_INTERVAL_S * 2
        ),
        "options": {"expires": float(EVENT_SWEEP_INTERVAL_S)},
    },
    "reports-mail": {
        "task": "reports.tasks.weekly_mail_task",
        "schedule": float(REPORTS_MAIL_INTERVAL_S),
    },
    "timers": {
        "task": "escalation.tasks.timer_sweep_task",
        "schedule": float(TIMER_SWEEP_INTERVAL_S),
        # A sweep that waited longer than an interval is stale: the next one covers it.
        "options": {"expires": float(TIMER_SWEEP_INTERVAL_S)},
    },
    "coverage-alerts": {
        "task": "shifts.tasks.coverage_alert_task",
        "schedule": float(SHIFT_COVERAGE_ALERT_INTERVAL_S),
    },
}

# --- grid awareness (grid/): services asked in the background, and their beat entries --------
# Kept apart from the Celery settings above. A service whose URL is empty is not asked.
GRID_SERVICES = {
    "gocdb": {"url": env_str("GOCDB_URL", "https://goc.egi.eu/gocdbpi/public")},
    "cric": {"url": env_str("CRIC_URL", "https://atlas-cric.cern.ch")},
    "bigpanda": {
        "url": env_str("BIGPANDA_URL", "https://bigpanda.cern.ch"),
        "token": env_str("BIGPANDA_TOKEN", ""),
    },
    # Asked only with a token: Rucio's X-Rucio-Auth-Token (from rucio whoami/auth).
    "rucio": {
        "url": env_str("RUCIO_URL", "https://rucio-lb-prod.cern.ch"),
        "token": env_str("RUCIO_TOKEN", ""),
        "auth_header": "X-Rucio-Auth-Token",
        "auth_scheme": "",
    },
    # GGUS runs Zammad: an API token of the desk's GGUS account ("Token token=...").
    "ggus": {
        "url": env_str("GGUS_URL", "https://helpdesk.ggus.eu"),
        "token": env_str("GGUS_TOKEN", ""),
        "auth_scheme": "Token token=",
    },
}
GOCDB_PATH = env_str("GOCDB_PATH", "/")
GOCDB_SCOPE = env_str("GOCDB_SCOPE", "")  # e.g. "EGI" or "wlcg"; empty: every scope
CRIC_QUEUES_PATH = env_str("CRIC_QUEUES_PATH", "/api/atlas/pandaqueue/query/?json")
CRIC_ENDPOINTS_PATH = env_str("CRIC_ENDPOINTS_PATH", "/api/atlas/ddmendpoint/query/?json")
# One call: a timeout per try, GRID_HTTP_RETRIES more tries after BACKOFF * 2**n (jittered).
GRID_HTTP_TIMEOUT_S = env_int("GRID_HTTP_TIMEOUT_S", 10, minimum=1)
GRID_HTTP_RETRIES = env_int("GRID_HTTP_RETRIES", 2, minimum=0)
GRID_HTTP_BACKOFF_S = env_int("GRID_HTTP_BACKOFF_S", 1, minimum=0)
# The breaker opens after this many failed calls in a row, for this long.
GRID_BREAKER_FAILURES = env_int("GRID_BREAKER_FAILURES", 3, minimum=1)
GRID_BREAKER_OPEN_S = env_int("GRID_BREAKER_OPEN_S", 300, minimum=1)
# Downtimes from now to this many days ahead, read every GRID_DOWNTIME_INTERVAL_S.
GRID_DOWNTIME_INTERVAL_S = env_int("GRID_DOWNTIME_INTERVAL_S", 900, minimum=60)
GRID_DOWNTIME_WINDOW_DAYS = env_int("GRID_DOWNTIME_WINDOW_DAYS", 7, minimum=0)
# A job's or task's status is fetched again when older than this.
GRID_STATUS_TTL_S = env_int("GRID_STATUS_TTL_S", 300, minimum=10)
# The ticket page's status fragment asks again every POLL_S seconds, at most POLLS times.
GRID_PANEL_POLL_S = env_int("GRID_PANEL_POLL_S", 3, minimum=1)
GRID_PANEL_POLLS = env_int("GRID_PANEL_POLLS", 10, minimum=0)
# Rucio DIDs (existence, replica count) are fetched again when older than this.
RUCIO_DID_TTL_S = env_int("RUCIO_DID_TTL_S", 1800, minimum=10)
# GGUS tickets opened from escalations to sites: the group that gets them, the other GGUS
# fields ("name=value,name=value"), the field naming the site, and which states end them.
GGUS_GROUP = env_str("GGUS_GROUP", "TPM")
GGUS_TICKET_FIELDS = {}
for _pair in env_list("GGUS_TICKET_FIELDS", "vo_support=atlas,priority=2 normal"):
    _name, _eq, _value = _pair.partition("=")
    if not _eq or not _name.strip():
        raise SettingError(f"GGUS_TICKET_FIELDS: {_pair!r} is not name=value")
    GGUS_TICKET_FIELDS[_name.strip()] = _value.strip()
GGUS_SITE_FIELD = env_str("GGUS_SITE_FIELD", "site")
GGUS_SOLVED_STATES = frozenset(
    s.lower() for s in env_list("GGUS_SOLVED_STATES", "solved,closed,verified")
)
# The state a GGUS ticket is put in when the escalation that opened it is cancelled.
GGUS_CANCEL_STATE = env_str("GGUS_CANCEL_STATE", "closed")
GGUS_TICKET_URL = env_str("GGUS_TICKET_URL", "https://helpdesk.ggus.eu/#ticket/zoom/{id}")
# Each open GGUS ticket is read every POLL_INTERVAL_S; a failed open is tried again after
# RETRY_BASE_S * 2**n (at most an hour), OPEN_MAX_ATTEMPTS times in all.
GGUS_POLL_INTERVAL_S = env_int("GGUS_POLL_INTERVAL_S", 900, minimum=60)
GGUS_RETRY_BASE_S = env_int("GGUS_RETRY_BASE_S", 60, minimum=1)
GGUS_OPEN_MAX_ATTEMPTS = env_int("GGUS_OPEN_MAX_ATTEMPTS", 8, minimum=1)
GGUS_SWEEP_INTERVAL_S = env_int("GGUS_SWEEP_INTERVAL_S", 60, minimum=10)
GGUS_SWEEP_BATCH = 50
CELERY_BEAT_SCHEDULE["ggus"] = {
    "task": "grid.tasks.ggus_sweep_task",
    "schedule": float(GGUS_SWEEP_INTERVAL_S),
    "options": {"expires": float(GGUS_SWEEP_INTERVAL_S)},
}
CELERY_BEAT_SCHEDULE["grid-directory"] = {
    "task": "grid.tasks.grid_directory_task",
    "schedule": float(GRID_DOWNTIME_INTERVAL_S),
    "options": {"expires": float(GRID_DOWNTIME_INTERVAL_S)},
}

# --- data retention (retention/): the nightly run of the teams' policies, and its beat entry --
# Kept apart from the schedule above. Each run, and each dry run, is in the audit trail.
RETENTION_INTERVAL_S = env_int("RETENTION_INTERVAL_S", 86_400, minimum=60)
CELERY_BEAT_SCHEDULE["retention"] = {
    "task": "retention.tasks.retention_task",
    "schedule": float(RETENTION_INTERVAL_S),
    "options": {"expires": float(RETENTION_INTERVAL_S)},
}

# --- notifications (notifications/): the bell, chat webhooks, shift-start digests ------------
# The header's bell asks for news this often while a page of the desk is open.
NOTIFICATION_POLL_S = env_int("NOTIFICATION_POLL_S", 30, minimum=5)
# Chat webhooks (Mattermost/Slack incoming webhooks, admin > Notifications > Team webhooks):
# a beat sweep posts what is due; a failed post is tried again after
# WEBHOOK_RETRY_BASE_S * 2**n (capped at an hour) until WEBHOOK_MAX_ATTEMPTS.
WEBHOOK_SWEEP_INTERVAL_S = env_int("WEBHOOK_SWEEP_INTERVAL_S", 5, minimum=1)
WEBHOOK_TIMEOUT_S = env_int("WEBHOOK_TIMEOUT_S", 10, minimum=1)
WEBHOOK_RETRY_BASE_S = env_int("WEBHOOK_RETRY_BASE_S", 30, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
# "Anna is replying": a mark in the cache holds this long after the last keystroke, and the
# ticket page asks every PRESENCE_POLL_S seconds.
PRESENCE_TTL_S = env_int("PRESENCE_TTL_S", 15, minimum=2)
PRESENCE_POLL_S = env_int("PRESENCE_POLL_S", 3, minimum=1)
CELERY_BEAT_SCHEDULE["webhooks"] = {
    "task": "notifications.tasks.webhook_sweep_task",
    "schedule": float(WEBHOOK_SWEEP_INTERVAL_S),
    "options": {"expires": float(WEBHOOK_SWEEP_INTERVAL_S)},
}
CELERY_BEAT_SCHEDULE["shift-digest"] = {
    "task": "notifications.tasks.digest_task",
    "schedule": float(HANDOVER_INTERVAL_S),
}
