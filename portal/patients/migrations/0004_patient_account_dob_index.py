"""An index on (account, date of birth): searches by date of birth, and the check for
another patient of the clinic born the same year with a similar name."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_password_reset_throttle'),
        ('patients', '0003_patient_nhs_number'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(fields=['account', 'date_of_birth'], name='patient_account_dob'),
        ),
    ]
