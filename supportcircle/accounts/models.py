from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import connections, models
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
        """``with_pseudonym(pseudonym).get()``: pseudonyms are unique regardless of case, so "sam" logs in
        as "Sam". Every login asks this, so the query is compiled once per database connection and
        reused (building and compiling it each time cost more than running it)."""
        db = self.db
        connection = connections[db]
        compiled = getattr(connection, "_supportcircle_user_by_pseudonym", None)
        if compiled is None:
            compiled = connection._supportcircle_user_by_pseudonym = _compile_lookup(self)
        if compiled is False:  # a query this does not know how to reuse: the ORM as usual
            return self.with_pseudonym(pseudonym).get()
        sql, converters, compiler, field_names = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [pseudonym])
            rows = cursor.fetchmany(2)
        if not rows:
            raise self.model.DoesNotExist(f"{self.model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(f"get() returned more than one {self.model._meta.object_name}")
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return self.model.from_db(db, field_names, rows[0])

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


_MARKER = "\x00pseudonym\x00"


def _compile_lookup(manager: UserManager) -> tuple | bool:
    """``with_pseudonym``'s SQL with its one parameter, the converters its columns need on this
    database, and the model's field names in the order selected; False when the query is not that plain
    (anything deferred, a parameter besides the pseudonym)."""
    query = manager.with_pseudonym(_MARKER).query
    compiler = query.get_compiler(using=manager.db)
    sql, params = compiler.as_sql()
    if list(params) != [_MARKER] or compiler.klass_info is None or compiler.annotation_col_map:
        return False
    columns = [column for column, _, _ in compiler.select]
    field_names = [column.target.attname for column in columns]
    if field_names != [field.attname for field in manager.model._meta.concrete_fields]:
        return False
    return sql, compiler.get_converters(columns), compiler, field_names


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
        RECOVERY = "recovery", "Password recovery asked for"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"
