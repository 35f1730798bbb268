from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "dashboard.team"
    label = "team"
    verbose_name = "Team and access"

    def ready(self) -> None:
        from dashboard.accounts.audit import ACTIONS
        from dashboard.team.audit import TEAM_ACTIONS

        # The Audit page filters on these labels next to the account lifecycle ones.
        ACTIONS.update(TEAM_ACTIONS)
