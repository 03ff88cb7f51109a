from django import forms


class JoinForm(forms.Form):
    accept = forms.BooleanField(
        label="I have read these agreements and I will do my best to keep them.",
        error_messages={"required": "To join, please read the agreements and tick the box to accept them."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
