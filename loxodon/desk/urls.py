from django.contrib.auth import views as auth_views
from django.urls import path

from loxodon.desk import erasure_views, merge_views, review_views, views

app_name = "desk"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="desk/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search", views.search, name="search"),
    path("customers/<str:customer_id>/", views.customer_page, name="customer"),
    path("customers/<str:customer_id>/repeat", views.customer_repeat, name="customer-repeat"),
    path("customers/<str:customer_id>/cases", views.open_case, name="customer-open-case"),
    path("customers/<str:customer_id>/erase", erasure_views.erase, name="customer-erase"),
    path("cases/<str:case_id>/", views.case_page, name="case"),
    path("cases/<str:case_id>/<slug:action>", views.case_action, name="case-action"),
    path("tasks/<str:task_id>/complete", views.complete_task, name="task-complete"),
    path("admin/staff/", views.admin_staff, name="admin-staff"),
    path("merges/<str:merge_id>/unmerge", merge_views.unmerge, name="unmerge"),
    path("identity/reviews/", review_views.reviews, name="identity-reviews"),
    path("identity/reviews/<str:review_id>/", review_views.review_page, name="identity-review"),
    path(
        "identity/reviews/<str:review_id>/decision",
        review_views.decide,
        name="identity-review-decide",
    ),
]
