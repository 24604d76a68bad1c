from django import forms


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
