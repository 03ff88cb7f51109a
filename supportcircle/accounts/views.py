from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from supportcircle.security import log_refusal

from . import limits
from .actions import delete_account, what_deleting_leaves
from .forms import DeleteAccountForm, LoginForm, NewPasswordForm, ProfileForm, RecoveryForm, SignUpForm
from .models import Attempt
from .privacy import export_for


class LoginView(auth_views.LoginView):
    """Django's login, locked for a while after repeated failures (supportcircle.accounts.limits), and
    answered at once with a request to try again when the password could not be checked soon enough
    (supportcircle.accounts.hashers)."""

    authentication_form = LoginForm
    # The form's errors that are no answer about the password, with the status each is sent with.
    STATUS_FOR = {"locked_out": 429, "busy": 503}

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        response = super().form_invalid(form)
        for error in form.errors.as_data().get(NON_FIELD_ERRORS, []):
            if error.code in self.STATUS_FOR:
                response.status_code = self.STATUS_FOR[error.code]
                response["Retry-After"] = str(error.params["retry_after"])
        return response


class PasswordRecoveryView(auth_views.PasswordResetView):
    """Django's password reset: a link by email to the address on the account. The page that follows reads
    the same whether or not an account has that email, so it never tells anyone who is here."""

    form_class = RecoveryForm

    def form_valid(self, form: RecoveryForm) -> HttpResponse:
        # Counted whether or not an account has the email, so the limit says nothing about who is here.
        keys = limits.recovery_keys(self.request, form.cleaned_data["email"])
        limit = limits.recovery_limit()
        wait = max(limits.wait_for(Attempt.Kind.RECOVERY, key, limit) for key in keys)
        if wait:
            form.add_error(
                None,
                "A few recovery emails were asked for just now, so we've paused them for a little while. "
                f"Please check your inbox (and spam folder), or try again in {limits.in_words(wait)}.",
            )
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        for key in keys:
            limits.record(Attempt.Kind.RECOVERY, key, limit)
        return super().form_valid(form)


class ChooseNewPasswordView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        log_refusal(request, "already_signed_in")
        return redirect("groups:directory")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        key = limits.signup_key(request)
        wait = limits.wait_for(Attempt.Kind.SIGNUP, key, limits.signup_limit())
        if wait:
            form.is_valid()
            form.add_error(
                None,
                "Several accounts were just created from here, so we've paused sign-ups for a little while. "
                f"Please try again in {limits.in_words(wait)}.",
            )
            response = render(request, "accounts/signup.html", {"form": form}, status=429)
            response["Retry-After"] = str(wait)
            return response
        if form.is_valid():
            user = form.save()
            limits.record(Attempt.Kind.SIGNUP, key, limits.signup_limit())
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.pseudonym}. We're glad you're here.")
            return redirect("groups:directory")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET"])
def export(request: HttpRequest) -> HttpResponse:
    """Everything we hold about me, as a JSON download (other people pseudonymised)."""
    response = JsonResponse(export_for(request.user), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="supportcircle-export.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_account(request.user)
        logout(request)
        messages.success(request, "Your account is deleted and your messages are erased. Take good care.")
        return redirect("groups:directory")
    # Never a reason to refuse; what it would leave behind is said before, plainly.
    leaves = what_deleting_leaves(request.user)
    return render(request, "accounts/delete.html", {"form": form, "leaves": leaves})
