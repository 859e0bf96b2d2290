"""Loxodon settings: one module; what differs between machines comes from the environment.

Environment variables:
  DATABASE_URL          default sqlite:///<project>/var/loxodon.sqlite3 (WAL mode)
  LOXODON_SECRET_KEY    required when LOXODON_DEBUG is off
  LOXODON_DEBUG         "1"/"true" for development (default on for the embedded SQLite set-up)
  LOXODON_ALLOWED_HOSTS comma-separated, default "127.0.0.1,localhost"
  REDIS_URL             optional: Channels layer on Redis instead of in-memory
  LOXODON_SUPPORT_EMAIL, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOXODON_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("LOXODON_DEBUG", default=True)
SECRET_KEY = os.environ.get("LOXODON_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("LOXODON_SECRET_KEY must be set when LOXODON_DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("LOXODON_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "daphne",  # makes `runserver` ASGI-capable (Channels)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "loxodon.core",
    "loxodon.org",
    "loxodon.customers",
    "loxodon.timeline",
    "loxodon.cases",
    "loxodon.channels.email",
    "loxodon.channels.voice",
    "loxodon.channels.chat",
    "loxodon.channels.web",
    "loxodon.channels.imports",
    "loxodon.outbound",
    "loxodon.sla",
    "loxodon.insights",
    "loxodon.knowledge",
    "loxodon.desk",
    "loxodon.portal",
    "django_tasks",
    "django_tasks_db",
    "django_htmx",
    "loxodon.demo",
    "axes",  # staff sign-in brute-force throttling (see AXES_* below)
]

MIDDLEWARE = [
    "loxodon.core.middleware.ApiBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "loxodon.desk.middleware.SiteTimeZoneMiddleware",
    "loxodon.core.middleware.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes asks: turns a locked-out sign-in into its lockout answer
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loxodon.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "loxodon.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def _database() -> dict[str, object]:
    default_url = f"sqlite:///{VAR_DIR / 'loxodon.sqlite3'}"
    pool_max = int(os.environ.get("LOXODON_DB_POOL_MAX", "0"))
    config: dict[str, object] = dict(
        dj_database_url.parse(
            os.environ.get("DATABASE_URL", default_url),
            # Under ASGI every request in flight runs in its own thread with its own connection:
            # persistent connections pile up (the locust load test held 295 PostgreSQL sessions
            # with 60 s), so they are off by default and production uses the pool below.
            conn_max_age=0 if pool_max else int(os.environ.get("LOXODON_CONN_MAX_AGE", "0")),
            conn_health_checks=True,
        )
    )
    if pool_max and config["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's pool (Django 5.1+): at most `pool_max` connections per process; a request
        # waits up to 10 s for one (then 503 + Retry-After). With CONN_HEALTH_CHECKS Django has
        # the pool check each connection before use, so a PostgreSQL restart costs a retry.
        config["OPTIONS"] = {"pool": {"min_size": 1, "max_size": pool_max, "timeout": 10}}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN so concurrent writers queue (busy timeout) instead of failing on lock upgrade.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; "
                # Checkpoint the WAL every ~40 MB instead of every ~4 MB: a 1,000-event batch
                # no longer pays for a checkpoint (with fsyncs) on nearly every commit.
                "PRAGMA wal_autocheckpoint=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 10,
        }
        name = config.get("NAME")
        if isinstance(name, str) and name not in ("", ":memory:"):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        # A file (not :memory:) so that live-server threads and `loxodon` subprocesses in tests
        # share it; one per test process, so two test runs in one checkout do not collide.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    return config


DATABASES = {"default": _database()}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "/desk/login/"
LOGIN_REDIRECT_URL = "/desk/"
LOGOUT_REDIRECT_URL = "/desk/login/"

# django-axes first: it refuses sign-ins of a locked-out username + address before the password
# is checked, and counts failures (AccessAttempt, AccessFailureLog rows; a WARNING log line).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# --- staff sign-in throttling (django-axes) -----------------------------------------------------
AXES_FAILURE_LIMIT = int(os.environ.get("LOXODON_STAFF_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("LOXODON_STAFF_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# a locked-out sign-in gets the desk's page (429, when to try again) instead of axes' one line
AXES_LOCKOUT_CALLABLE = "loxodon.desk.sign_in.locked_out"
# the WARNING line names the username and address (never the password) for whoever reads the log
AXES_SENSITIVE_PARAMETERS = ["password"]
if os.environ.get("LOXODON_CLIENT_IP_HEADER"):
    AXES_IPWARE_META_PRECEDENCE_ORDER = [os.environ["LOXODON_CLIENT_IP_HEADER"], "REMOTE_ADDR"]
# --- end of staff sign-in throttling ------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Served by WhiteNoise from the apps' static folders (vendored Bootstrap, htmx: no CDN);
# `loxodon collectstatic` fills STATIC_ROOT for production.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"

# Secure session and cookie settings; the HTTPS-only flags follow DEBUG so that the development
# server on http://127.0.0.1 still works.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_AGE = 12 * 60 * 60  # one working day
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("LOXODON_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("LOXODON_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- content security policy (django-csp) -------------------------------------------------------
# Enforced on every answer (issue 10, item 10): scripts only from our own static files, so a
# payload that slips into a page (mail HTML, an article, a chat message) cannot run. No page has
# inline script or inline event handlers (they live in static .js files); htmx runs with
# allowEval off (the htmx-config meta tag in the desk and portal base templates). Styles keep
# 'unsafe-inline' (style attributes in templates, htmx's indicator style): styles cannot run
# code, and cleaned HTML has no style attributes or elements anyway. Answers that set their own,
# stricter header keep it (a message's cleaned HTML, downloads: "default-src 'none'; sandbox").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # 'self' covers the desk's same-host WebSocket
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Django Ninja serves the API docs page (/api/v1/docs) from its own static files, with no CDN and
# no inline script, only when it is an installed app; otherwise the page would need both.
INSTALLED_APPS = [*INSTALLED_APPS, "ninja"]
# --- end of content security policy -------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
LOXODON_SUPPORT_EMAIL = os.environ.get("LOXODON_SUPPORT_EMAIL", "support@loxodon.localhost")
DEFAULT_FROM_EMAIL = LOXODON_SUPPORT_EMAIL
# The organisation's name in "<Owner> via <org>" on customer email.
LOXODON_ORG_NAME = os.environ.get("LOXODON_ORG_NAME", "Loxodon")
# Where mail goes: Django's SMTP backend in production; `make demo` writes to var/outbox instead.
EMAIL_BACKEND = os.environ.get(
    "LOXODON_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "outbox")
# Raw inbound mail is spooled here (Maildir-style tmp/ and new/) before it is acknowledged.
LOXODON_MAIL_SPOOL = os.environ.get("LOXODON_MAIL_SPOOL", str(VAR_DIR / "mail"))

# Inbound attachments: largest single file and total per message; larger parts are dropped
# from storage (the raw message is still kept) and the event says so.
LOXODON_MAX_ATTACHMENT_BYTES = int(os.environ.get("LOXODON_MAX_ATTACHMENT_BYTES", str(10 << 20)))
LOXODON_MAX_ATTACHMENTS_BYTES = int(os.environ.get("LOXODON_MAX_ATTACHMENTS_BYTES", str(25 << 20)))
# Inbound mail per sender address: more than this ("count/period") opens no further cases and
# sends no automatic answers; the messages are still kept, flagged for staff.
LOXODON_MAIL_SENDER_RATE = os.environ.get("LOXODON_MAIL_SENDER_RATE", "30/h")
# Mail servers in front of us (RFC 8601 authserv-ids, comma-separated) whose SPF/DKIM/DMARC
# verdicts in Authentication-Results hold a forged message for staff; unset: the support domain.
LOXODON_MAIL_AUTHSERV_IDS = [
    v.strip() for v in os.environ.get("LOXODON_MAIL_AUTHSERV_IDS", "").split(",") if v.strip()
] or None
# Department updates to a customer within this window go out as one consolidated message.
LOXODON_DIGEST_WINDOW_SECONDS = int(os.environ.get("LOXODON_DIGEST_WINDOW_SECONDS", "7200"))
# IMAP mailbox polled by `loxodon fetch_mail` (optional; the SMTP listener needs none of these).
LOXODON_IMAP_HOST = os.environ.get("LOXODON_IMAP_HOST", "")
LOXODON_IMAP_PORT = int(os.environ.get("LOXODON_IMAP_PORT", "993"))
LOXODON_IMAP_USER = os.environ.get("LOXODON_IMAP_USER", "")
LOXODON_IMAP_PASSWORD = os.environ.get("LOXODON_IMAP_PASSWORD", "")
LOXODON_IMAP_SSL = env_bool("LOXODON_IMAP_SSL", default=True)
LOXODON_IMAP_FOLDER = os.environ.get("LOXODON_IMAP_FOLDER", "INBOX")
# Optional IMAP folder that fetched mail is moved into once it is safely spooled.
LOXODON_IMAP_PROCESSED_FOLDER = os.environ.get("LOXODON_IMAP_PROCESSED_FOLDER", "")

# Background work (outbound mail, digests): django-tasks with its database backend; run
# `loxodon db_worker` next to the web server. LOXODON_TASKS_IMMEDIATE=1 runs tasks inline.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if env_bool("LOXODON_TASKS_IMMEDIATE", default=False)
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

# Surveys: the public address customers' links point at, one invitation per touchpoint per
# customer per window, links valid for EXPIRY days, guesses of unknown links rate-limited.
LOXODON_PUBLIC_URL = os.environ.get("LOXODON_PUBLIC_URL", "http://127.0.0.1:8000")
LOXODON_SURVEY_WINDOW_DAYS = int(os.environ.get("LOXODON_SURVEY_WINDOW_DAYS", "30"))
LOXODON_SURVEY_EXPIRY_DAYS = int(os.environ.get("LOXODON_SURVEY_EXPIRY_DAYS", "14"))
LOXODON_SURVEY_GUESS_RATE = os.environ.get("LOXODON_SURVEY_GUESS_RATE", "30/h")
LOXODON_SURVEY_ORDER_MAX_AGE_DAYS = int(os.environ.get("LOXODON_SURVEY_ORDER_MAX_AGE_DAYS", "3"))

# --- portal sign-in (loxodon/portal/auth.py): link lifetime and rate limits ("count/period") ----
LOXODON_PORTAL_LINK_MINUTES = int(os.environ.get("LOXODON_PORTAL_LINK_MINUTES", "15"))
# Sign-in mail goes out from a background thread so the answer takes as long with or without a
# login (no account enumeration by timing); 0 sends inline.
LOXODON_PORTAL_MAIL_IN_BACKGROUND = env_bool("LOXODON_PORTAL_MAIL_IN_BACKGROUND", default=True)
LOXODON_PORTAL_RATES = {
    "link_address": os.environ.get("LOXODON_PORTAL_RATE_LINK_ADDRESS", "5/h"),
    "link_ip": os.environ.get("LOXODON_PORTAL_RATE_LINK_IP", "20/h"),
    "code_ip": os.environ.get("LOXODON_PORTAL_RATE_CODE_IP", "10/10m"),
    "password_address": os.environ.get("LOXODON_PORTAL_RATE_PASSWORD_ADDRESS", "10/h"),
    "password_ip": os.environ.get("LOXODON_PORTAL_RATE_PASSWORD_IP", "30/h"),
    "email_change": os.environ.get("LOXODON_PORTAL_RATE_EMAIL_CHANGE", "5/h"),
}
# --- end of portal sign-in settings ---

# Right to be forgotten: every erasure is also appended here (customer ids only, no personal
# data), so `loxodon restore` of an older backup erases them again. Keep it outside the database
# and with the backups (`loxodon backup` includes it); see docs/operations.md.
LOXODON_ERASURE_LEDGER = os.environ.get("LOXODON_ERASURE_LEDGER", str(VAR_DIR / "erasures.jsonl"))

# Default region for phone numbers written without a country code (ISO 3166 alpha-2).
LOXODON_DEFAULT_PHONE_REGION = os.environ.get("LOXODON_DEFAULT_PHONE_REGION", "GB")
# Batch ingest upper bound (API contract: up to 1000 events per batch).
LOXODON_MAX_BATCH = 1000
# Largest request body (a batch of 1,000 events with bodies of ~30 KB); larger is a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("LOXODON_MAX_BODY_BYTES", str(32 * 1024 * 1024)))
# Two inbound contacts within this many days raise the "repeat contact" alert.
LOXODON_REPEAT_CONTACT_DAYS = 7

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # survey links carry single-use tokens: never let one reach a log line
    "filters": {"survey_tokens": {"()": "loxodon.insights.log_filters.RedactSurveyTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["survey_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOXODON_LOG_LEVEL", "WARNING")},
    "loggers": {
        "loxodon": {"level": os.environ.get("LOXODON_LOG_LEVEL", "INFO")},
        "django": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}

# --- web activity channel (loxodon/channels/web): caches and beacon rate limits -------------
# Beacon rate limits are counted in a cache (django-ratelimit's counters). With REDIS_URL the
# counters live in Redis and hold across every worker process and host; without it they are
# per process (LocMemCache), so `serve --workers N` lets through up to N times the rate — fine
# for the embedded single-machine set-up. Only django-ratelimit's functions are used (the app
# is not installed), so its system check, which insists on memcached or django-redis, does not
# run; Django's own RedisCache does atomic increments and is what it needs.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "loxodon",
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "loxodon-ratelimit",
        }
    ),
}
RATELIMIT_USE_CACHE = "ratelimit"
# A beacon is analytics: if the counter store is unreachable, let beacons through.
RATELIMIT_FAIL_OPEN = True
# Behind a reverse proxy set e.g. LOXODON_CLIENT_IP_HEADER=HTTP_X_REAL_IP (a request.META key
# the proxy sets and clients cannot forge); default: the connection's address.
if os.environ.get("LOXODON_CLIENT_IP_HEADER"):
    RATELIMIT_IP_META_KEY = os.environ["LOXODON_CLIENT_IP_HEADER"]
# "count/period" (s, m, h, d): per client IP (any key, checked before the body is read), per
# property key + IP, and per visitor id. Over the limit: 429 with Retry-After.
LOXODON_WEB_BEACON_RATES = {
    "ip": os.environ.get("LOXODON_WEB_RATE_IP", "600/m"),
    "key_ip": os.environ.get("LOXODON_WEB_RATE_KEY_IP", "300/m"),
    "visitor": os.environ.get("LOXODON_WEB_RATE_VISITOR", "60/m"),
}
# Anonymous web visitors not seen for this many days are deleted by
# `loxodon purge_web_activity` (run it daily, e.g. from cron).
LOXODON_WEB_ANONYMOUS_RETENTION_DAYS = int(
    os.environ.get("LOXODON_WEB_ANONYMOUS_RETENTION_DAYS", "90")
)
# --- end of web activity channel settings -------------------------------------------------

# --- service standards (sla app, ADR 10) -------------------------------------------------------
# While a case is open the worker looks at its clock at least this often (replies and pauses
# move it without telling the worker); warnings and breaches are checked at their own moments.
LOXODON_SLA_RECHECK_MINUTES = int(os.environ.get("LOXODON_SLA_RECHECK_MINUTES", "60"))
# --- end of service standards settings ---------------------------------------------------------

# --- identity resolution (customers.resolution, ADR 12) ----------------------------------------
# Real-time resolution answers "this customer" at or above LOXODON_MATCH_AUTO (and only when a
# date of birth or an email/phone/account number corroborates it); candidates at or above
# LOXODON_MATCH_CANDIDATE; otherwise the contact is new. Batch linkage has its own --thresholds.
LOXODON_MATCH_AUTO = float(os.environ.get("LOXODON_MATCH_AUTO", "0.99"))
LOXODON_MATCH_CANDIDATE = float(os.environ.get("LOXODON_MATCH_CANDIDATE", "0.5"))
# --- end of identity resolution settings -------------------------------------------------------
