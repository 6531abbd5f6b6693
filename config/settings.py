"""Sbyt settings: one file, driven by environment variables (see README, "Configuration")."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SBYT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("SBYT_DEBUG", default=True)
SECRET_KEY = os.environ.get("SBYT_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SBYT_SECRET_KEY must be set when SBYT_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 - only with SBYT_DEBUG on
ALLOWED_HOSTS = env_list("SBYT_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("SBYT_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "sbyt.core",
    "sbyt.users",
    "sbyt.customers",
    "sbyt.metering",
    "sbyt.messaging",
    "sbyt.content",
    "sbyt.billing",
    "sbyt.payments",
    "sbyt.cases",
    "sbyt.offices",
    "sbyt.portal",
    "sbyt.api",
    "sbyt.backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "sbyt.portal.context_processors.site",
            ],
        },
    },
]

# Database: SQLite (WAL) by default; PostgreSQL through DATABASE_URL=postgres://user@host:5432/name.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("SBYT_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: per-process memory by default; Redis (shared by all web processes) via SBYT_CACHE_URL.
if os.environ.get("SBYT_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["SBYT_CACHE_URL"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["sbyt.users.backends.LoginBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:index"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SBYT_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Language and time: the UI is Russian; the database keeps UTC; branches carry their own time zone.
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "sbyt" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("SBYT_TIME_ZONE", "Europe/Moscow")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = DEBUG  # development: serve app static files without collectstatic
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The readings answering machine (IVR key 3, RD-1): recordings live under SBYT_VOICE_RECORDINGS_DIR, which the
# web processes read; SBYT_VOICE_ASTERISK_DIR is the same directory as the Asterisk host mounts it (RECORD FILE
# paths are Asterisk's). The days come from the branch's ReadingWindow for channel «voice», else these defaults.
SBYT_VOICE_RECORDINGS_DIR = Path(os.environ.get("SBYT_VOICE_RECORDINGS_DIR", VAR_DIR / "voice"))
SBYT_VOICE_ASTERISK_DIR = os.environ.get("SBYT_VOICE_ASTERISK_DIR", str(SBYT_VOICE_RECORDINGS_DIR))
SBYT_VOICE_DEFAULT_BRANCH = os.environ.get("SBYT_VOICE_DEFAULT_BRANCH", "")  # a branch code; "" → the first branch
SBYT_VOICE_WINDOW_DAYS = (18, 20)
SBYT_VOICE_MAX_SECONDS = int(os.environ.get("SBYT_VOICE_MAX_SECONDS", "60"))

# Background work: Django's Tasks API on the database backend; RQ/Redis could replace it for scale-out.
TASKS = {"default": {"BACKEND": os.environ.get("SBYT_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# Outbound SMS: console (prints), file (appends to var/sms-outbox.log), kannel (HTTP sendsms), locmem (tests).
SBYT_SMS_BACKEND = os.environ.get("SBYT_SMS_BACKEND", "console")
SBYT_SMS_FILE = Path(os.environ.get("SBYT_SMS_FILE", VAR_DIR / "sms-outbox.log"))
SBYT_KANNEL_URL = os.environ.get("SBYT_KANNEL_URL", "http://127.0.0.1:13013/cgi-bin/sendsms")
SBYT_KANNEL_USERNAME = os.environ.get("SBYT_KANNEL_USERNAME", "")
SBYT_KANNEL_PASSWORD = os.environ.get("SBYT_KANNEL_PASSWORD", "")
SBYT_KANNEL_FROM = os.environ.get("SBYT_KANNEL_FROM", "")
SBYT_KANNEL_TIMEOUT = float(os.environ.get("SBYT_KANNEL_TIMEOUT", "10"))
SBYT_BILLING_WORKERS = int(os.environ.get("SBYT_BILLING_WORKERS", "2"))  # processes of a billing run (PostgreSQL)
# Inbound SMS (Kannel get-url, aggregator webhook): the shared secret they send; unset = every request refused.
SBYT_SMS_INBOUND_SECRET = os.environ.get("SBYT_SMS_INBOUND_SECRET", "")

# Outbound e-mail through Django's mail framework: console (prints), file (SBYT_EMAIL_FILE_PATH), smtp, locmem
# (tests), or a backend's dotted path.
email_backends = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
email_backend = os.environ.get("SBYT_EMAIL_BACKEND", "console")
EMAIL_BACKEND = email_backends.get(email_backend, email_backend)
EMAIL_FILE_PATH = Path(os.environ.get("SBYT_EMAIL_FILE_PATH", VAR_DIR / "mail-outbox"))
EMAIL_HOST = os.environ.get("SBYT_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("SBYT_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SBYT_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SBYT_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SBYT_EMAIL_USE_TLS")
EMAIL_TIMEOUT = float(os.environ.get("SBYT_EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("SBYT_EMAIL_FROM", "noreply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Rate limits ("count/period", period in s/m/h/d) for login, recovery and one-time codes.
RATELIMIT_LOGIN = os.environ.get("SBYT_RATELIMIT_LOGIN", "10/m")
RATELIMIT_CODES = os.environ.get("SBYT_RATELIMIT_CODES", "5/h")
RATELIMIT_PUBLIC_READINGS = os.environ.get("SBYT_RATELIMIT_PUBLIC_READINGS", "30/h")
RATELIMIT_ENABLE = env_bool("SBYT_RATELIMIT_ENABLE", default=True)
# Behind a reverse proxy: the header carrying the client's address (e.g. HTTP_X_REAL_IP), so that per-IP
# limits count visitors, not the proxy; and the header telling Django the original request was HTTPS.
if os.environ.get("SBYT_CLIENT_IP_HEADER"):
    RATELIMIT_IP_META_KEY = os.environ["SBYT_CLIENT_IP_HEADER"]
if env_bool("SBYT_BEHIND_HTTPS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SBYT_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SBYT_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# One-time codes.
SBYT_OTP_TTL_SECONDS = int(os.environ.get("SBYT_OTP_TTL_SECONDS", "600"))
SBYT_OTP_MAX_ATTEMPTS = int(os.environ.get("SBYT_OTP_MAX_ATTEMPTS", "5"))

SBYT_SITE_NAME = os.environ.get("SBYT_SITE_NAME", "Энергосбыт")
SBYT_HEAD_OFFICE_EMAIL = os.environ.get("SBYT_HEAD_OFFICE_EMAIL", "")  # every complaints-book entry goes there
SBYT_JITSI_URL = os.environ.get("SBYT_JITSI_URL", "https://meet.example.org")  # Jitsi Meet of video consultations
SBYT_SITE_URL = os.environ.get("SBYT_SITE_URL", "")  # the public site, for absolute links in messages
SBYT_CASES_SIGNATORY = os.environ.get("SBYT_CASES_SIGNATORY", "")  # position that signs answer letters
SBYT_CASES_SIGNATORY_NAME = os.environ.get("SBYT_CASES_SIGNATORY_NAME", "")  # initials and surname under it

# Upload limits; the largest file import_accounts reads (an XLSX may unpack to 10 times that).
SBYT_IMPORT_MAX_BYTES = int(os.environ.get("SBYT_IMPORT_MAX_MB", "200")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SBYT_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Viber REST bot (channels/viber/webhook): the bot's auth token signs every callback (X-Viber-Content-Signature)
# and authorises replies (send_message); unset = every callback refused. The sender name is shown in Viber (≤ 28).
SBYT_VIBER_AUTH_TOKEN = os.environ.get("SBYT_VIBER_AUTH_TOKEN", "")
SBYT_VIBER_API_URL = os.environ.get("SBYT_VIBER_API_URL", "https://chatapi.viber.com/pa").rstrip("/")
SBYT_VIBER_SENDER_NAME = os.environ.get("SBYT_VIBER_SENDER_NAME", SBYT_SITE_NAME)[:28]
# WhatsApp Cloud API (channels/whatsapp/webhook): the verify token of the subscription handshake, the app secret
# that signs every POST (X-Hub-Signature-256), the access token and the business phone number id for replies.
SBYT_WHATSAPP_VERIFY_TOKEN = os.environ.get("SBYT_WHATSAPP_VERIFY_TOKEN", "")
SBYT_WHATSAPP_APP_SECRET = os.environ.get("SBYT_WHATSAPP_APP_SECRET", "")
SBYT_WHATSAPP_ACCESS_TOKEN = os.environ.get("SBYT_WHATSAPP_ACCESS_TOKEN", "")
SBYT_WHATSAPP_PHONE_NUMBER_ID = os.environ.get("SBYT_WHATSAPP_PHONE_NUMBER_ID", "")
SBYT_WHATSAPP_API_URL = os.environ.get("SBYT_WHATSAPP_API_URL", "https://graph.facebook.com/v21.0").rstrip("/")

# Messenger channels (docs/channels-messengers.md). Telegram Bot API webhook: the secret token set with setWebhook
# (secret_token) comes back in X-Telegram-Bot-Api-Secret-Token; with none configured every update is refused.
SBYT_TELEGRAM_BOT_TOKEN = os.environ.get("SBYT_TELEGRAM_BOT_TOKEN", "")
SBYT_TELEGRAM_SECRET_TOKEN = os.environ.get("SBYT_TELEGRAM_SECRET_TOKEN", "")
SBYT_TELEGRAM_API_URL = os.environ.get("SBYT_TELEGRAM_API_URL", "https://api.telegram.org")
# VK Callback API: the community id, the confirmation string and the secret key from the community's
# Callback API settings; a community access token (messages) for messages.send.
SBYT_VK_GROUP_ID = os.environ.get("SBYT_VK_GROUP_ID", "")
SBYT_VK_CONFIRMATION = os.environ.get("SBYT_VK_CONFIRMATION", "")
SBYT_VK_SECRET = os.environ.get("SBYT_VK_SECRET", "")
SBYT_VK_ACCESS_TOKEN = os.environ.get("SBYT_VK_ACCESS_TOKEN", "")
SBYT_VK_API_URL = os.environ.get("SBYT_VK_API_URL", "https://api.vk.com/method")
SBYT_VK_API_VERSION = os.environ.get("SBYT_VK_API_VERSION", "5.199")

# E-mail robot (docs/email-robot.md): the readings mailbox polled over IMAP; replies go out through EMAIL_BACKEND
# from SBYT_MAIL_ROBOT_ADDRESS. One mailbox for now (per-branch mailboxes later). Unset host = the robot is off.
SBYT_MAIL_ROBOT_IMAP_HOST = os.environ.get("SBYT_MAIL_ROBOT_IMAP_HOST", "")
SBYT_MAIL_ROBOT_IMAP_PORT = int(os.environ.get("SBYT_MAIL_ROBOT_IMAP_PORT", "993"))
SBYT_MAIL_ROBOT_IMAP_USER = os.environ.get("SBYT_MAIL_ROBOT_IMAP_USER", "")
SBYT_MAIL_ROBOT_IMAP_PASSWORD = os.environ.get("SBYT_MAIL_ROBOT_IMAP_PASSWORD", "")
SBYT_MAIL_ROBOT_IMAP_SSL = env_bool("SBYT_MAIL_ROBOT_IMAP_SSL", default=True)
SBYT_MAIL_ROBOT_IMAP_FOLDER = os.environ.get("SBYT_MAIL_ROBOT_IMAP_FOLDER", "INBOX")
SBYT_MAIL_ROBOT_ADDRESS = os.environ.get("SBYT_MAIL_ROBOT_ADDRESS", "")
SBYT_MAIL_ROBOT_POLL_SECONDS = int(os.environ.get("SBYT_MAIL_ROBOT_POLL_SECONDS", "20"))
SBYT_MAIL_ROBOT_MAX_ATTACHMENT = int(os.environ.get("SBYT_MAIL_ROBOT_MAX_ATTACHMENT", str(2 * 1024 * 1024)))

# Payments (docs/payments.md). The online provider: "sandbox" (a local page plays the bank: demo, development,
# browser tests) or "yookassa" (ЮKassa API v3 through its SDK: shop id and secret key from the shop's settings).
# The sandbox credits pretend money: it is the default only with SBYT_DEBUG on.
SBYT_PAYMENT_PROVIDER = os.environ.get("SBYT_PAYMENT_PROVIDER", "sandbox" if DEBUG else "yookassa")
SBYT_SANDBOX_EXPIRY_SECONDS = int(os.environ.get("SBYT_SANDBOX_EXPIRY_SECONDS", "900"))
SBYT_SANDBOX_REFUND = os.environ.get("SBYT_SANDBOX_REFUND", "success")  # sandbox refunds: success | pending | decline
SBYT_YOOKASSA_SHOP_ID = os.environ.get("SBYT_YOOKASSA_SHOP_ID", "")
SBYT_YOOKASSA_SECRET_KEY = os.environ.get("SBYT_YOOKASSA_SECRET_KEY", "")
SBYT_YOOKASSA_API_URL = os.environ.get("SBYT_YOOKASSA_API_URL", "https://api.yookassa.ru/v3").rstrip("/")
SBYT_YOOKASSA_TIMEOUT = float(os.environ.get("SBYT_YOOKASSA_TIMEOUT", "15"))
# Notifications are accepted only from ЮKassa's published networks (plus these); off behind a proxy hiding them.
SBYT_YOOKASSA_CHECK_IP = env_bool("SBYT_YOOKASSA_CHECK_IP", default=True)
SBYT_YOOKASSA_TRUSTED_NETWORKS = env_list("SBYT_YOOKASSA_TRUSTED_NETWORKS")
SBYT_YOOKASSA_RECEIPTS = env_bool("SBYT_YOOKASSA_RECEIPTS")  # send 54-ФЗ receipt data with each payment
SBYT_YOOKASSA_VAT_CODE = int(os.environ.get("SBYT_YOOKASSA_VAT_CODE", "1"))
SBYT_PAYMENT_MAX_AMOUNT = int(os.environ.get("SBYT_PAYMENT_MAX_AMOUNT", "500000"))  # rubles per online payment
