from django.urls import path

from dashboard.previews import (
    catalog_views,
    cql_views,
    grid_views,
    label_views,
    persona_views,
    public_views,
    views,
)

app_name = "previews"
urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.preview_submit, name="submit"),
    path("history/", views.history, name="history"),
    path("diff/", views.preview_diff, name="diff"),
    path("<int:pk>/", views.preview_detail, name="detail"),
    path("<int:pk>/result/", views.preview_result, name="result"),
    path("<int:pk>/rerun/", views.preview_rerun, name="rerun"),
    path("<int:pk>/share/", views.preview_share, name="share"),
    path("shared/<str:token>/", views.preview_shared, name="shared"),
    path("<int:pk>/public-links/", public_views.public_link_create, name="public_link_create"),
    path(
        "<int:pk>/public-links/<int:link_pk>/revoke/",
        public_views.public_link_revoke,
        name="public_link_revoke",
    ),
    # The one preview URL that opens without a login (public_views.public_share).
    path("public/<str:token>/", public_views.public_share, name="public"),
    path("personas/", persona_views.persona_list, name="personas"),
    path("personas/new/", persona_views.persona_edit, name="persona_new"),
    path("personas/<int:pk>/edit/", persona_views.persona_edit, name="persona_edit"),
    path("personas/<int:pk>/delete/", persona_views.persona_delete, name="persona_delete"),
    path("grids/", grid_views.grid_new, name="grids"),
    path("grids/<int:pk>/", grid_views.grid_detail, name="grid"),
    path("grids/<int:pk>/cells/", grid_views.grid_cells, name="grid_cells"),
    path("grids/<int:pk>/baseline/", grid_views.grid_baseline, name="grid_baseline"),
    path("catalog/", catalog_views.catalog, name="catalog"),
    path("catalog/search/", catalog_views.catalog_search, name="catalog_search"),
    path("catalog/new/", catalog_views.catalog_edit, name="catalog_new"),
    path("catalog/<int:pk>/edit/", catalog_views.catalog_edit, name="catalog_edit"),
    path("catalog/<int:pk>/delete/", catalog_views.catalog_delete, name="catalog_delete"),
    path("labels/", label_views.label_list, name="labels"),
    path("labels/one/", label_views.label_fragment, name="label"),
    path("labels/save/", label_views.label_save, name="label_save"),
    path("labels/<int:pk>/delete/", label_views.label_delete, name="label_delete"),
    path("cql/", cql_views.playground, name="cql"),
    path("cql/run/", cql_views.playground_run, name="cql_run"),
    path("cql/<int:pk>/", cql_views.playground_result, name="cql_result"),
]
