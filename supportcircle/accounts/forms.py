from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, UserCreationForm

from . import limits
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

    def clean_pseudonym(self) -> str:
        pseudonym = self.cleaned_data["pseudonym"].strip()
        if User.objects.with_pseudonym(pseudonym).exists():
            raise forms.ValidationError("Someone is already using that pseudonym. Could you try another?")
        return pseudonym


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label="Your time zone",
        help_text="Session times are shown in this time zone.",
    )

    class Meta:
        model = User
        fields = ("email", "timezone")
        labels = {"email": "Email (optional)"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["timezone"].choices = [(zone, zone) for zone in zones]


class LoginForm(AuthenticationForm):
    """Django's login form, with a lockout after repeated failures for one pseudonym from one address."""

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


class NewPasswordForm(SetPasswordForm):
    """Choose a new password from a recovery link."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Your new password"
        self.fields["new_password2"].label = "The same password again"
        self.fields["new_password2"].help_text = "So we know it was typed as you meant it."
