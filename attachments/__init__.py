"""Patient attachments: the Cliniko, Claros and Medable flows over the one file pipeline."""
