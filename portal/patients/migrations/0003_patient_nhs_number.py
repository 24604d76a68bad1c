"""An optional NHS number on each patient, unique within the clinic. The column has a
database default, so the previous release can still insert patients during a rolling
upgrade; the unique index is partial (only numbers that are known)."""

import portal.patients.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_password_reset_throttle'),
        ('patients', '0002_patient_number'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='nhs_number',
            field=models.CharField(blank=True, db_default='', default='', max_length=10, validators=[portal.patients.models.validate_nhs_number_digits], verbose_name='NHS number'),
        ),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(condition=models.Q(('nhs_number', ''), _negated=True), fields=('account', 'nhs_number'), name='patient_nhs_number_per_account', violation_error_message='Another patient of this clinic has this NHS number.'),
        ),
    ]
