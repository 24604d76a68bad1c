"""The review loop: the inbox of files patients sent that no one has reviewed, its live
count, Mark reviewed, Ask for more, and each person's notification choices."""

from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard import inbox
from dashboard.access import staff_required
from dashboard.forms.review import FollowUpForm, NotificationSettingsForm, ReviewForm
from dashboard.lookups import get_file_request_or_404
from dashboard.pagination import paginate, query_without_page
from filerequests import replies, services, staff_actions
from files import services as file_services
from portal.audit.services import Actor

VIEW_MINE = "mine"
# Seconds between the pages' looks at the inbox count.
INBOX_POLL_SECONDS = 10


@staff_required
def review_inbox(request):
    mine = request.GET.get("view") == VIEW_MINE
    rows = inbox.inbox_rows(account=request.account, staff=request.staff if mine else None)
    page = paginate(request, rows)
    inbox.door_rows_fill(account=request.account, rows=page.object_list)
    return render(
        request,
        "dashboard/review/inbox.html",
        {"page": page, "mine": mine, "page_query": query_without_page(request)},
    )


@staff_required
def review_status(request):
    """The inbox counts and the caller's latest arrivals, for the pages' live badge,
    the tab title and the optional browser notification."""
    counts = inbox.review_counts(account=request.account, staff=request.staff)
    arrivals = inbox.arrivals_for(account=request.account, staff=request.staff)
    response = JsonResponse({**counts, "arrivals": arrivals})
    response["Cache-Control"] = "no-store"
    return response


@staff_required
def file_request_review(request, file_request_id):
    """Mark reviewed: asks the outcome, and can text the patient a reply."""
    file_request = get_file_request_or_404(request, file_request_id)
    back_to_inbox = (request.POST.get("next") or request.GET.get("next")) == "inbox"
    form = ReviewForm(
        request.POST if request.method == "POST" else None,
        file_request=file_request,
        templates=replies.reply_templates_of(account=request.account),
    )
    if request.method == "POST" and form.is_valid():
        reply_text, template_name = form.reply_words()
        try:
            review = staff_actions.file_request_review(
                file_request=file_request,
                staff=request.staff,
                actor=Actor.for_staff(request.staff),
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                reply_text=reply_text,
                reply_template_name=template_name,
            )
        except staff_actions.ReviewInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, review_message(file_request, review))
            if back_to_inbox:
                return redirect("dashboard:review-inbox")
            return redirect("dashboard:file-request-detail", file_request_id=file_request.id)
    return render(
        request,
        "dashboard/review/review.html",
        {"form": form, "file_request": file_request, "back_to_inbox": back_to_inbox},
        status=400 if form.errors else 200,
    )


def review_message(file_request, review: staff_actions.Review) -> str:
    count = review.files_marked
    file_request.refresh_from_db()
    outcome = file_request.get_review_outcome_display()
    words = [f"Outcome recorded for {file_request.patient}: {outcome}."]
    if count:
        words.append(
            f"Marked {count} file{'s' if count != 1 else ''} from {file_request.patient} "
            "as reviewed by you."
        )
    else:
        words.append("Nothing new to review on this request.")
    if review.reply is not None:
        words.append(
            f"The reply is being texted to {file_request.patient.mobile.as_international}."
        )
    return " ".join(words)


@require_POST
@staff_required
def files_review(request):
    """Mark reviewed for one inbox row of new files that answer no request: the files
    that row showed (``file``), so one that arrived since is not passed over unseen."""
    count = file_services.files_mark_reviewed(
        account=request.account,
        file_ids=request.POST.getlist("file"),
        staff=request.staff,
        actor=Actor.for_staff(request.staff),
    )
    if count:
        messages.success(
            request, f"Marked {count} file{'s' if count != 1 else ''} as reviewed by you."
        )
    else:
        messages.info(request, "Nothing new to review there.")
    return redirect("dashboard:review-inbox")


@staff_required
def file_request_follow_up(request, file_request_id):
    file_request = get_file_request_or_404(request, file_request_id)
    form = FollowUpForm(request.POST or None, first_request=file_request)
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = staff_actions.file_request_follow_up_create(
                file_request=file_request,
                staff=request.staff,
                actor=Actor.for_staff(request.staff),
                prompt=form.cleaned_data["prompt"].strip(),
                short_link_expires_at=form.expires_at(),
            )
        except (services.FileRequestStateError, services.FileRequestInputError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Asked {follow_up.patient} for more; the new link is on its way to "
                f"{follow_up.patient.mobile.as_international}.",
            )
            return redirect("dashboard:file-request-detail", file_request_id=follow_up.id)
    status = 400 if form.errors else 200
    return render(
        request,
        "dashboard/review/follow_up.html",
        {"form": form, "file_request": file_request},
        status=status,
    )


@staff_required
def notification_settings(request):
    staff = request.staff
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"notify_photos_by_email": staff.notify_photos_by_email},
    )
    if request.method == "POST" and form.is_valid():
        staff.notify_photos_by_email = form.cleaned_data["notify_photos_by_email"]
        staff.save(update_fields=["notify_photos_by_email"])
        messages.success(request, "Your notification choices are saved.")
        return redirect("dashboard:notifications")
    return render(
        request,
        "dashboard/review/notifications.html",
        {"form": form, "has_email": bool(staff.user and staff.user.email)},
    )
