from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class User(AbstractUser):
    """A login. A client's login is linked to one or more accounts; a login is not a customer."""

    email = models.EmailField("e-mail", unique=True, null=True, blank=True)
    phone = models.CharField("мобильный телефон", max_length=16, unique=True, null=True, blank=True)
    must_change_password = models.BooleanField(
        "сменить пароль при входе", default=False, help_text="Set when an operator issued a one-time password."
    )

    objects = UserManager()

    class Meta:
        verbose_name = "учётная запись"
        verbose_name_plural = "учётные записи"
        permissions = [("issue_password", "Выдача одноразового пароля клиенту")]

    @property
    def is_client(self) -> bool:
        return not self.is_staff


class OneTimeCode(models.Model):
    """A one-time code: by SMS for registration, linking an account, confirming a new phone; by e-mail for
    confirming a new e-mail. Only an HMAC of purpose, target (phone or e-mail) and code is stored."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "регистрация"
        LINK_ACCOUNT = "link", "привязка номера клиента"
        CHANGE_PHONE = "phone", "смена телефона"
        CHANGE_EMAIL = "email", "смена e-mail"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    phone = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)
    code_hash = models.CharField(max_length=64)
    account = models.ForeignKey("customers.Account", null=True, blank=True, on_delete=models.CASCADE)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "одноразовый код"
        verbose_name_plural = "одноразовые коды"
        indexes = [
            models.Index(fields=["phone", "purpose", "created_at"]),
            models.Index(fields=["email", "purpose", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} → {self.target}"

    @property
    def target(self) -> str:
        """Where the code was sent: the e-mail for an e-mail code, else the phone."""
        return self.email or self.phone


class ApiToken(models.Model):
    """A bearer token of the mobile app: shown once when issued; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField("SHA-256 токена", max_length=64, unique=True)
    channel = models.CharField("канал", max_length=16, default="app")
    created_at = models.DateTimeField("выдан", auto_now_add=True)
    revoked_at = models.DateTimeField("отозван", null=True, blank=True)

    class Meta:
        verbose_name = "токен API"
        verbose_name_plural = "токены API"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key_hash[:8]}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
