"""One settings module, read from the environment with strict parsing.

Every setting an operator may change is an environment variable; defaults give
the embedded setup (SQLite file, local media) that `make run` starts.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DUBAN_DEBUG", False)
# Production fails closed: it refuses to start until the secret key, the host names and HTTPS
# are set on purpose (checked below, once every setting is read).
PRODUCTION = env_bool("DUBAN_PRODUCTION", False)
_secret = os.environ.get("DUBAN_SECRET_KEY", "")
if not _secret and not PRODUCTION:
    # A per-checkout development key, never used in production (DUBAN_PRODUCTION=true).
    _secret = "insecure-dev-key-" + str(PROJECT_DIR)
SECRET_KEY = _secret
ALLOWED_HOSTS = env_list("DUBAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DUBAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # its templates and bundled Swagger files: the API docs page works offline
    "duban.core",
    "duban.accounts",
    "duban.org",
    "duban.inspections",
    "duban.ledger",
    "duban.audit",
    "duban.documents",
    "duban.supervision",
    "duban.notify",
    "duban.escalation",
    "duban.workcalendar",
    "duban.lookback",
    "duban.api",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "duban.twofactor",
    "duban.demo",  # the top layer: the demo world, seeding and benchmark commands
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files answer here, before sessions and the rest (gunicorn has no static server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "duban.core.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "duban.core.middleware.SecureCookiesOverHttpsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "duban.accounts.middleware.UserLanguageMiddleware",
    "duban.twofactor.middleware.TwoFactorMiddleware",
    "duban.accounts.middleware.PasswordChangeRequiredMiddleware",
    "duban.core.middleware.IdleTimeoutMiddleware",
    "duban.core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "duban.urls"
WSGI_APPLICATION = "duban.wsgi.application"

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
                "django.template.context_processors.i18n",
                "duban.notify.context_processors.unread_notifications",
            ],
        },
    },
]

DATA_DIR = Path(env_str("DUBAN_DATA_DIR", str(PROJECT_DIR / "var")))
_database_url = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'duban.sqlite3'}")
# Server (PostgreSQL) connections are kept between requests (a new one costs more than many a page);
# each gunicorn worker serves one request at a time, so one kept connection per worker is the
# pool. Health checks ping a kept connection before its first use in a request, so a database
# that restarted costs no failed request once it is back.
_persistent = not _database_url.startswith("sqlite:")
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DUBAN_DB_CONN_MAX_AGE", 600 if _persistent else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer commits; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue instead of failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's backends with the audit chain appended in one short step at commit
# (duban/audit/backends/pending.py); set after the options above, which name Django's.
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "duban.audit.backends.postgresql",
    "django.db.backends.sqlite3": "duban.audit.backends.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("DUBAN_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "duban.accounts.validators.CharacterClassValidator"},
]
# Two-factor login (TOTP authenticator apps, recovery codes): compulsory for the roles in
# DUBAN_2FA_ROLES when DUBAN_2FA_REQUIRED is true (the default in production); anyone may
# turn it on for himself.
DUBAN_2FA_REQUIRED = env_bool("DUBAN_2FA_REQUIRED", env_bool("DUBAN_PRODUCTION", False))
DUBAN_2FA_ROLES = env_list("DUBAN_2FA_ROLES", ["sysadmin", "auditor", "office"])
_ROLE_CODES = {"office", "liaison", "unit_head", "lead_official", "acceptor", "discipline"}
_ROLE_CODES |= {"auditor", "sysadmin", "viewer"}
if unknown := set(DUBAN_2FA_ROLES) - _ROLE_CODES:
    raise ImproperlyConfigured(f"DUBAN_2FA_ROLES names unknown roles: {', '.join(sorted(unknown))}")
OTP_TOTP_ISSUER = env_str("DUBAN_2FA_ISSUER", "Duban")
# Wrong codes: the next try waits 1, 2, 4 … seconds (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ledger:problem_list"
LOGOUT_REDIRECT_URL = "login"

# Lockout: after DUBAN_LOGIN_FAILURES failed attempts for one username from one address,
# that address is locked out of that username for DUBAN_LOCKOUT_MINUTES (django-axes).
# Locking the username alone would let anyone lock out `office`; from any address, the
# username's failures only slow its logins down (duban.accounts.throttle): each attempt
# past the limit waits twice as long, up to DUBAN_LOGIN_DELAY_MAX_SECONDS.
AXES_FAILURE_LIMIT = env_int("DUBAN_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("DUBAN_LOCKOUT_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "duban.accounts.client_address.client_address"
DUBAN_LOGIN_DELAY_MAX_SECONDS = env_int("DUBAN_LOGIN_DELAY_MAX_SECONDS", 60)
# How many reverse proxies in front of Duban append to X-Forwarded-For; 0 (the default)
# trusts no header and takes the connection's address.
DUBAN_TRUSTED_PROXIES = env_int("DUBAN_TRUSTED_PROXIES", 0)
# A password reset gives a one-time password valid this long, good only to set a new one.
DUBAN_ONE_TIME_PASSWORD_HOURS = env_int("DUBAN_ONE_TIME_PASSWORD_HOURS", 24)
# API tokens expire this many days after they are made.
DUBAN_API_TOKEN_DAYS = env_int("DUBAN_API_TOKEN_DAYS", 90)

# Sessions end after DUBAN_IDLE_MINUTES without a request (idle timeout).
SESSION_COOKIE_AGE = env_int("DUBAN_IDLE_MINUTES", 30) * 60
# The expiry moves on with use, at most once a minute (duban.core.middleware.IdleTimeoutMiddleware).
DUBAN_SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Behind HTTPS (production) cookies are Secure; the proxy must set X-Forwarded-Proto.
HTTPS = env_bool("DUBAN_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS and env_bool("DUBAN_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Not preloaded: browsers' preload list takes public registrable domains, not an office's
# intranet or gov.cn sub-domain host; HSTS still holds from the first visit.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, so a
# markup slip cannot run script: no inline script or handler, no eval, no style="" attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # data: for the icons inside the API docs' stylesheet
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

if PRODUCTION:
    # Each missing piece is named, with the variable that sets it; nothing starts half-secured.
    _problems = []
    if DEBUG:
        _problems.append("DUBAN_DEBUG must be false in production")
    if len(_secret) < 50 or len(set(_secret)) < 5:
        _problems.append(
            "DUBAN_SECRET_KEY must be set to a random value of at least 50 characters, e.g. "
            "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not os.environ.get("DUBAN_ALLOWED_HOSTS") or not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        _problems.append(
            "DUBAN_ALLOWED_HOSTS must name the host names Duban is served at, "
            "comma-separated (no *), e.g. duban.example.gov.cn"
        )
    if not HTTPS:
        _problems.append(
            "DUBAN_HTTPS must be true: production is served over HTTPS (Secure cookies, HSTS); "
            "the reverse proxy terminates TLS and sends X-Forwarded-Proto"
        )
    if _problems:
        raise ImproperlyConfigured(
            "DUBAN_PRODUCTION=true, but: " + "; ".join(_problems) + ". See docs/deploy.md."
        )

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("DUBAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DUBAN_STATIC_ROOT", str(DATA_DIR / "static")))
if PRODUCTION:
    # Hashed, compressed copies made by collectstatic: WhiteNoise serves them cached for a year.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # Only the hashed copies are linked; source maps are never fetched by users' browsers.
    # Both halve what collectstatic compresses (brotli at its slowest setting) on every start.
    WHITENOISE_KEEP_ONLY_HASHED_FILES = True
    WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: downloads go through scoped views

# Uploads: evidence files are checked by content and size.
DUBAN_MAX_UPLOAD_MB = env_int("DUBAN_MAX_UPLOAD_MB", 50)
# Imported ledgers and feedback reports (Excel, Word, PDF): checked before they are read.
DUBAN_MAX_IMPORT_MB = env_int("DUBAN_MAX_IMPORT_MB", 20)
# A folder of .docx templates that replace the bundled ones of the same file name.
DUBAN_DOCUMENT_TEMPLATES_DIR = env_str("DUBAN_DOCUMENT_TEMPLATES_DIR", "")
# Ledger exports of more problems than this are written by the worker, with a progress page.
DUBAN_EXPORT_BACKGROUND_ROWS = env_int("DUBAN_EXPORT_BACKGROUND_ROWS", 5000)
# Their files are removed this many days after they were asked for.
DUBAN_EXPORT_KEEP_DAYS = env_int("DUBAN_EXPORT_KEEP_DAYS", 7)
# A background job whose worker has not beaten (every 5 s) for this long is marked failed by the
# sweep: its worker stopped (killed, out of memory, machine lost).
DUBAN_JOB_STALE_SECONDS = env_int("DUBAN_JOB_STALE_SECONDS", 45)
if DUBAN_JOB_STALE_SECONDS < 15:
    raise ImproperlyConfigured("DUBAN_JOB_STALE_SECONDS must be at least 15 (three heartbeats)")
# The audit chain's head is appended here after every commit that adds events (outside the
# database, so a rewritten chain no longer matches what was noted); keep it off the database's disk.
DUBAN_AUDIT_HEAD_FILE = Path(env_str("DUBAN_AUDIT_HEAD_FILE", str(DATA_DIR / "audit-heads.log")))
# pg_dump and pg_restore for `duban backup`/`restore` on PostgreSQL ("" = PATH, then the newest
# /usr/lib/postgresql/*/bin).
DUBAN_PG_BIN = env_str("DUBAN_PG_BIN", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Files of a request body up to this size stay in memory; a larger body goes to temporary files.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# One request's body at most (twenty evidence files of 50 MB fit), refused with 413 unread.
DUBAN_MAX_REQUEST_MB = env_int("DUBAN_MAX_REQUEST_MB", 1024)

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DUBAN_LOG_LEVEL", "WARNING")},
    # Chain heads noted after each commit reach the log too (a second copy outside the database).
    "loggers": {"duban.audit": {"level": "INFO"}},
}

# Background work (imports, large exports): the Django Tasks interface with the database as
# its queue, so the embedded setup needs no other server; `duban db_worker` runs the tasks.
TASKS = {
    "default": {
        "BACKEND": env_str("DUBAN_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Page size of the ledger list; the API uses the same.
DUBAN_PAGE_SIZE = env_int("DUBAN_PAGE_SIZE", 50)

# Notifications (duban.notify). E-mail goes out through SMTP when DUBAN_EMAIL_HOST is set;
# without it nobody gets e-mail (the inbox and group robots still work).
EMAIL_BACKEND = env_str("DUBAN_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DUBAN_EMAIL_HOST", "")
EMAIL_PORT = env_int("DUBAN_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DUBAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("DUBAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DUBAN_EMAIL_TLS", False)
EMAIL_USE_SSL = env_bool("DUBAN_EMAIL_SSL", False)
EMAIL_TIMEOUT = env_int("DUBAN_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DUBAN_EMAIL_FROM", "duban@localhost")
# The address people open Duban at, for links in e-mails and group messages ("" = paths only).
DUBAN_BASE_URL = env_str("DUBAN_BASE_URL", "").rstrip("/")
# Daily digests go out at this local hour; a failing channel is retried this many times.
DUBAN_NOTIFY_DIGEST_HOUR = env_int("DUBAN_NOTIFY_DIGEST_HOUR", 8)
if not 0 <= DUBAN_NOTIFY_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("DUBAN_NOTIFY_DIGEST_HOUR must be between 0 and 23")
DUBAN_NOTIFY_MAX_ATTEMPTS = env_int("DUBAN_NOTIFY_MAX_ATTEMPTS", 5)
DUBAN_NOTIFY_RETRY_MINUTES = env_int("DUBAN_NOTIFY_RETRY_MINUTES", 5)
DUBAN_NOTIFY_HTTP_TIMEOUT = env_int("DUBAN_NOTIFY_HTTP_TIMEOUT", 10)
# Robot webhooks may only point at these hosts (no requests into the office network).
DUBAN_NOTIFY_ROBOT_HOSTS = env_list(
    "DUBAN_NOTIFY_ROBOT_HOSTS", ["oapi.dingtalk.com", "qyapi.weixin.qq.com"]
)
