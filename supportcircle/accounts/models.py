from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone as django_timezone

pseudonym_validator = RegexValidator(
    r"^[\w .'-]{2,30}$",
    "A pseudonym can use letters, numbers, spaces, dots, dashes and apostrophes (2 to 30 characters).",
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, pseudonym: str) -> User:
        # Pseudonyms are unique regardless of case, so "sam" logs in as "Sam".
        return self.with_pseudonym(pseudonym).get()

    def with_pseudonym(self, pseudonym: str) -> models.QuerySet[User]:
        """The person with this pseudonym in any case, found through the unique index on its lower case
        (``pseudonym__iexact`` compiles to LIKE or UPPER(), which read every row: a login cost grew
        with the number of people)."""
        return self.filter(Exact(Lower("pseudonym"), Lower(Value(pseudonym))))

    def create_user(self, pseudonym: str, password: str | None = None, **extra) -> User:
        if not pseudonym:
            raise ValueError("A pseudonym is required.")
        user = self.model(pseudonym=pseudonym.strip(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, pseudonym: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(pseudonym, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person on SupportCircle. Known to others only by their pseudonym."""

    pseudonym = models.CharField(max_length=30, unique=True, validators=[pseudonym_validator])
    email = models.EmailField(blank=True, help_text="Optional, only used to help you recover your account.")
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=django_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "pseudonym"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("pseudonym"), name="unique_pseudonym_any_case"),
        ]

    def __str__(self) -> str:
        return self.pseudonym

    def get_short_name(self) -> str:
        return self.pseudonym

    def get_full_name(self) -> str:
        return self.pseudonym


class Attempt(models.Model):
    """One counted attempt (a failed login, a sign-up) for rate limiting.

    ``key`` is a digest of what is limited (pseudonym and address), never the
    address itself: we keep no IP addresses. Rows older than the longest window
    are deleted as new ones are written.
    """

    class Kind(models.TextChoices):
        FAILED_LOGIN = "failed_login", "Failed login"
        SIGNUP = "signup", "Sign-up"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"
