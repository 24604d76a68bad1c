from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.accounts.models import (
    Account,
    ApiKey,
    PasswordResetThrottle,
    SignInThrottle,
    Staff,
    StaffInvitation,
    User,
)
from portal.accounts.password_reset import address_digest
from portal.accounts.services import api_key_revoke
from portal.accounts.signin_throttle import key_digest
from portal.admin_filters import set_or_not_filter
from portal.audit.services import Actor, audit_record


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


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    """Invitations are made from the dashboard (Settings → Staff) and accepted through
    their link; here they can be looked at."""

    list_display = ["email", "account", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "account"]
    search_fields = ["email", "display_name"]
    list_select_related = ["account"]
    readonly_fields = [
        "account",
        "email",
        "display_name",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "staff",
        "withdrawn_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(SignInThrottle)
class SignInThrottleAdmin(admin.ModelAdmin):
    """Sign-in pauses. Rows are keyed by a digest, so a search for an e-mail or a client
    address computes the digest; "End the pause" lets a person in again at once."""

    list_display = ["__str__", "scope", "failures", "lockouts", "last_failure_at", "locked_until"]
    list_filter = ["scope"]
    search_fields = ["key_digest"]
    readonly_fields = ["scope", "key_digest", "failures", "lockouts", "last_failure_at"]
    actions = ["end_pause"]

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        digests = [key_digest(scope, term) for scope in SignInThrottle.Scope.values]
        return queryset.filter(key_digest__in=[*digests, term]), False

    @admin.action(description="End the pause (and the back-off) of the selected rows")
    def end_pause(self, request, queryset):
        ended = queryset.update(locked_until=None, failures=0, lockouts=0)
        audit_record(
            account=None,
            actor=Actor.for_admin(request.user),
            action="auth.sign_in_pause_ended",
            request=request,
            detail={"rows": ended},
        )
        self.message_user(request, f"{ended} pause(s) ended.", messages.SUCCESS)


@admin.register(PasswordResetThrottle)
class PasswordResetThrottleAdmin(admin.ModelAdmin):
    """Password reset e-mails asked for in the last 24 hours, per address. Rows are keyed
    by a digest, so a search for an e-mail computes it; "Allow again" lets a person who
    hit the limit ask for a new link at once."""

    list_display = ["__str__", "last_sent_at"]
    search_fields = ["key_digest"]
    readonly_fields = ["key_digest", "sent_at", "last_sent_at"]
    actions = ["allow_again"]

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(key_digest__in=[address_digest(term), term]), False

    @admin.action(description="Allow the selected addresses to ask for a link again")
    def allow_again(self, request, queryset):
        allowed, _ = queryset.delete()
        audit_record(
            account=None,
            actor=Actor.for_admin(request.user),
            action="auth.password_reset_limit_ended",
            request=request,
            detail={"rows": allowed},
        )
        self.message_user(request, f"{allowed} address(es) may ask again.", messages.SUCCESS)
