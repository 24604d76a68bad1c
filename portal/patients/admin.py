from django.contrib import admin

from portal.patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "date_of_birth", "mobile", "is_shell", "created_at"]
    list_filter = ["is_shell", "account", "created_at"]
    search_fields = ["first_name", "last_name", "mobile", "id"]
    list_select_related = ["account"]
    readonly_fields = ["id", "created_at", "updated_at"]
