from django import forms
from django.contrib.auth import password_validation

from portal.accounts.models import User


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Authentication code",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
                "placeholder": "123456",
                "class": "input-code",
            }
        ),
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app.",
            "min_length": "The code has 6 digits.",
            "max_length": "The code has 6 digits.",
        },
    )

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit():
            raise forms.ValidationError("The code has 6 digits, and only digits.")
        return token


class InvitationPasswordForm(forms.Form):
    """A new member's first password, chosen through their invitation's link."""

    new_password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text="At least 8 characters; not a common password, not only digits.",
    )
    new_password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two passwords differ: type the same one twice.")
        elif first:
            try:
                password_validation.validate_password(first, User(email=self.email))
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned
