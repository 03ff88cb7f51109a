from __future__ import annotations

from django import forms

from chat.protocol import MODERATE_ACTIONS

from .engine import CATEGORIES, Action
from .models import REPAIR_PROMPTS, ReportReason

ACTION_LABELS = {
    Action.ALLOW: "Allow: post as written",
    Action.NUDGE: "Nudge: show the writer the agreement and a gentler wording first",
    Action.COLLAPSE: "Collapse: post behind a content warning",
    Action.HOLD: "Hold: wait for a facilitator to read it",
    Action.BLOCK: "Block: don't post it, and say why",
    Action.ALERT: "Alert: post it, and tell the facilitators",
    Action.RESOURCES: "Offer help: post it, show the writer crisis resources, and alert the facilitators",
}
CATEGORY_LABELS = {
    "crisis": "Someone may be in crisis",
    "judgment": "Judging instead of asking",
    "advice": "Advice nobody asked for",
    "numbers": "Numbers about food or bodies",
    "diet": "Diet talk",
    "body": "Comments on bodies",
    "self_criticism": "Harsh words about oneself",
    "contact": "Moving the conversation off the platform",
}
CRISIS_CHOICES = (Action.RESOURCES, Action.ALERT)


class PolicyForm(forms.Form):
    """One choice per kind of agreement; crisis may only ever post with help offered."""

    def __init__(self, *args, current: dict[str, Action], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for category in CATEGORIES:
            allowed = CRISIS_CHOICES if category == "crisis" else tuple(Action)
            self.fields[category] = forms.ChoiceField(
                label=CATEGORY_LABELS[category],
                choices=[(action.value, ACTION_LABELS[action]) for action in allowed],
                initial=current[category].value,
                error_messages={"invalid_choice": "Please choose one of the actions in the list."},
            )


class ModerateForm(forms.Form):
    """The queue page's buttons: the same actions, and the same required fields, as the `moderate` frame."""

    action = forms.ChoiceField(choices=[(name, name) for name in MODERATE_ACTIONS])
    seq = forms.IntegerField(required=False, min_value=1)
    member = forms.IntegerField(required=False, min_value=1)
    agreement = forms.IntegerField(required=False, min_value=1, label="Agreement")
    minutes = forms.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60, label="Minutes")
    report = forms.IntegerField(required=False, min_value=1)
    alert = forms.IntegerField(required=False, min_value=1)
    repair = forms.IntegerField(required=False, min_value=1)
    note = forms.CharField(required=False, max_length=500, label="A note (kept in the log)")
    outcome = forms.CharField(required=False, max_length=500, label="What the person who reported it will read")

    MISSING = {
        "agreement": "Please choose the agreement this is about.",
        "minutes": "Please say for how many minutes.",
        "outcome": "Please write a sentence for the person who reported it: they'll see it.",
    }

    def clean(self) -> dict:
        data = super().clean()
        action = data.get("action")
        for name in MODERATE_ACTIONS.get(action, ()):
            if not data.get(name):
                self.add_error(name if name in self.MISSING else None, self.MISSING.get(name, "Something was missing."))
        return data


class RepairForm(forms.Form):
    about = forms.ChoiceField(label="What would you like to repair?", widget=forms.RadioSelect)
    prompt = forms.ChoiceField(
        label="Words to begin with",
        choices=[(prompt, prompt) for prompt in REPAIR_PROMPTS],
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose the words you'd like to begin with."},
    )
    note = forms.CharField(
        label="Anything you'd like to add (optional; the facilitators read it)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["about"].choices = choices
        self.fields["about"].error_messages["required"] = "Please choose what you'd like to repair."
        if len(choices) == 1:
            self.fields["about"].initial = choices[0][0]


class DirectMessageReportForm(forms.Form):
    """Reporting a private message: the same reasons and note as in the chat, and which group's facilitators read it."""

    reason = forms.ChoiceField(
        label="What didn't feel right?",
        choices=ReportReason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Please choose the reason closest to how it felt.",
            "invalid_choice": "Please choose one of the reasons in the list.",
        },
    )
    note = forms.CharField(
        label="Anything you'd like the facilitators to know (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    group = forms.TypedChoiceField(
        label="Which group's facilitators should read it?",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Please choose a group.",
            "invalid_choice": "Please choose one of the groups listed.",
        },
    )

    def __init__(self, *args, groups, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [(group.pk, group.name) for group in groups]
        if len(groups) == 1:
            self.fields["group"].initial = groups[0].pk
            self.fields["group"].widget = forms.HiddenInput()
