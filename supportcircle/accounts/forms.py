from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, UserCreationForm

from . import limits, outbox, timezones
from .hashers import HashingBusy
from .models import Attempt, User


class SignUpForm(UserCreationForm):
    """Sign up with a pseudonym only: we never ask for a real name."""

    class Meta:
        model = User
        fields = ("pseudonym",)
        labels = {"pseudonym": "Pseudonym"}
        help_texts = {
            "pseudonym": "The name others in your groups will see. Please don't use your real name.",
        }

    # Filled in by the browser (static/js/timezone.js) with where it is; changeable later on the profile.
    timezone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-guess-timezone": "true"})
    )

    def clean_pseudonym(self) -> str:
        pseudonym = self.cleaned_data["pseudonym"].strip()
        if User.objects.with_pseudonym(pseudonym).exists():
            raise forms.ValidationError("Someone is already using that pseudonym. Could you try another?")
        return pseudonym

    def clean_timezone(self) -> str:
        # Whatever the browser said, only a place we offer is kept; anything else is UTC, as before.
        return timezones.canonical(self.cleaned_data.get("timezone") or "") or timezones.UTC

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.timezone = self.cleaned_data.get("timezone") or timezones.UTC
        if commit:
            user.save()
        return user


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label="Your time zone",
        help_text="Session times are shown in this time zone. Common places come first; you can search by city.",
        error_messages={"invalid_choice": "Please choose a place from the list."},
    )

    class Meta:
        model = User
        fields = ("email", "timezone")
        labels = {"email": "Email (optional)"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = list(timezones.grouped_choices())
        current = self.instance.timezone
        if current and current not in timezones.canonical_zones():
            # Kept from before the list was curated: still theirs until they choose another.
            choices.insert(0, ("Your current setting", ((current, current),)))
        field = self.fields["timezone"]
        field.choices = choices
        field.widget.attrs.update(
            {
                "data-timezone-select": "true",
                # Never chosen (still the default): the browser's own zone is suggested.
                "data-unset": "true" if current == timezones.UTC else "false",
                "data-links": timezones.links_json(),
            }
        )


class LoginForm(AuthenticationForm):
    """Django's login form, with a lockout after repeated failures for one pseudonym from one address, and a
    kind word instead of a hanging page when too many people are logging in at once to check this password
    soon (supportcircle.accounts.hashers)."""

    def clean(self):
        pseudonym = self.cleaned_data.get("username") or ""
        key = limits.login_key(pseudonym, self.request)
        wait = limits.wait_for(Attempt.Kind.FAILED_LOGIN, key, limits.login_limit())
        if wait:
            raise forms.ValidationError(
                "That's a few too many tries for now, so we've paused logging in to keep your account safe. "
                f"Please try again in {limits.in_words(wait)}.",
                code="locked_out",
                params={"retry_after": wait},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            limits.record(Attempt.Kind.FAILED_LOGIN, key, limits.login_limit())
            raise
        except HashingBusy as busy:  # nothing was decided about the password: not a failed try
            raise forms.ValidationError(
                "Lots of people are signing in right now, so we couldn't check your password just yet. "
                "Please try again in a moment.",
                code="busy",
                params={"retry_after": busy.retry_after},
            ) from None
        limits.forget(Attempt.Kind.FAILED_LOGIN, key)
        return cleaned


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="So we know it's really you.",
    )

    def __init__(self, user: User, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password doesn't match. Your account is unchanged.")
        return password


class RecoveryForm(PasswordResetForm):
    """Ask for a password-recovery link by email. Whether an account has that email is never said."""

    email = forms.EmailField(
        label="The email you added to your account",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Please write the email you added to your account.",
            "invalid": "That doesn't look like an email address. Could you check it?",
        },
    )

    def send_mail(self, *args, **kwargs) -> None:
        # After the page has answered, so its timing says nothing either (supportcircle/accounts/outbox.py).
        outbox.send_later(super().send_mail, *args, **kwargs)


class NewPasswordForm(SetPasswordForm):
    """Choose a new password from a recovery link."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Your new password"
        self.fields["new_password2"].label = "The same password again"
        self.fields["new_password2"].help_text = "So we know it was typed as you meant it."
