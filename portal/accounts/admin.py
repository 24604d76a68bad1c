from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.accounts.models import Account, ApiKey, Staff, User
from portal.accounts.services import api_key_revoke
from portal.admin_filters import set_or_not_filter
from portal.audit.services import Actor


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Name", {"fields": ["first_name", "last_name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class StaffInline(admin.TabularInline):
    model = Staff
    extra = 0
    fields = ["display_name", "user", "role", "is_shell", "account_user_id"]
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "created_at"]
    list_filter = ["plan"]
    search_fields = ["name", "id"]
    inlines = [StaffInline]


@admin.register(Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "role", "is_shell", "created_at"]
    list_filter = ["role", "is_shell", "account"]
    search_fields = ["display_name", "user__email", "account_user_id"]
    list_select_related = ["account", "user"]
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created from the dashboard or the command line, where the key can
    be shown once; here they can be inspected and revoked."""

    list_display = ["name", "prefix", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = [
        set_or_not_filter("revoked_at", title="state", when_set="Revoked", when_not="Active"),
        "account",
    ]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "prefix",
        "key_digest",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]
    list_select_related = ["account"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        """Through the same service as the dashboard's Revoke, so the key stops working
        at once and the account's audit log names the admin who did it."""
        active = list(queryset.filter(revoked_at__isnull=True).select_related("account"))
        for api_key in active:
            api_key_revoke(api_key=api_key, actor=Actor.for_admin(request.user))
        self.message_user(request, f"{len(active)} key(s) revoked.", messages.SUCCESS)
