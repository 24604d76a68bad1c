"""The three dialects of patient attachments: Cliniko, Claros and Medable."""
