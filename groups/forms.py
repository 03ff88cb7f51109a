from django import forms

from .models import ContentLabel, DirectMessagePolicy, JoinPolicy, Visibility, Weekday


class JoinForm(forms.Form):
    accept = forms.BooleanField(
        label="I have read these agreements and I will do my best to keep them.",
        error_messages={"required": "To join, please read the agreements and tick the box to accept them."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(
        label="Anything you'd like the facilitators to know? (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    message = forms.CharField(
        label="A kind word to go with your answer (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason (kept in the group's record)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Please write a short reason; it's kept in the group's record."},
    )


class AgreementsForm(forms.Form):
    texts = forms.CharField(
        label="The group's own agreements, one per line",
        help_text="The agreements of the group's moderation rule sets are added after these automatically. "
        "Everyone will be asked to accept the new version before posting again.",
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Please write at least one agreement."},
    )

    def clean_texts(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["texts"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError("Please write at least one agreement.")
        too_long = [line for line in lines if len(line) > 300]
        if too_long:
            raise forms.ValidationError("Each agreement can be up to 300 characters; please shorten the long one.")
        return lines


class BoundarySettingsForm(forms.Form):
    dm_policy = forms.ChoiceField(
        label="Who may ask to message me privately",
        choices=DirectMessagePolicy.choices,
        widget=forms.RadioSelect,
    )
    collapsed_labels = forms.MultipleChoiceField(
        label="Content I want collapsed behind a tap",
        choices=ContentLabel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    here_to_be_heard = forms.BooleanField(
        label="I'm here to be heard, not advised",
        required=False,
        help_text="Shown beside your name in your groups; anyone who starts giving you advice you "
        "didn't ask for gets a gentle reminder.",
    )


class PersonForm(forms.Form):
    """Choose one of the people I share a group with (the view sets the queryset)."""

    person = forms.ModelChoiceField(
        queryset=None,
        label="Person",
        empty_label="Choose someone",
        error_messages={"required": "Please choose someone.", "invalid_choice": "Please choose someone from the list."},
    )

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        self.fields["person"].label_from_instance = lambda user: user.pseudonym


class DirectMessageRequestForm(PersonForm):
    note = forms.CharField(
        label="A short hello (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DirectMessageForm(forms.Form):
    body = forms.CharField(
        label="Your message",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Please write something before sending.",
            "max_length": "That message is longer than 4,000 characters. Could you split it in two?",
        },
    )
    # Shown only after the sender was asked first (contact details): they read why, and choose.
    send_anyway = forms.BooleanField(label="I've read this; send it anyway", required=False)


def _time_zone_choices() -> list[tuple[str, str]]:
    from zoneinfo import available_timezones

    return [(name, name.replace("_", " ")) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


class SessionScheduleForm(forms.Form):
    weekday = forms.TypedChoiceField(label="Day", choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(
        label="Starts at",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Please give a start time.", "invalid": "Please give a time like 18:30."},
    )
    duration_minutes = forms.IntegerField(
        label="Length in minutes",
        min_value=15,
        max_value=240,
        initial=60,
        error_messages={
            "min_value": "A session needs at least 15 minutes.",
            "max_value": "A session can last up to 4 hours.",
        },
    )
    timezone = forms.ChoiceField(label="Time zone of the start time", choices=_time_zone_choices)


def _ruleset_choices() -> list[tuple[str, str]]:
    from moderation.engine import RULESET_NAMES

    labels = {
        "crisis": "Crisis care (always recommended)",
        "curiosity": "Curiosity, not judgment",
        "no_advice": "No unsolicited advice",
        "ed_safety": "Eating-disorder safety: no numbers, no diet talk, no body comparison",
        "self_kindness": "Self-kindness",
        "off_platform": "Keep conversations here (no contact details)",
    }
    return [(name, labels.get(name, name)) for name in RULESET_NAMES]


class GroupSettingsForm(forms.Form):
    description = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    visibility = forms.ChoiceField(label="Who can find the group", choices=Visibility.choices)
    join_policy = forms.ChoiceField(label="How people join", choices=JoinPolicy.choices)
    capacity = forms.IntegerField(
        label="Seats for members (facilitators not counted)",
        min_value=2,
        max_value=50,
        help_text="Lowering it never removes anyone; new people wait until a seat is free.",
        error_messages={
            "min_value": "A group needs at least 2 seats.",
            "max_value": "Groups stay small: up to 50 seats.",
        },
    )
    rulesets = forms.MultipleChoiceField(
        label="Moderation rule sets (their agreements are added to the group's own)",
        choices=_ruleset_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
