"""Team layer: a team's data-scientist role and its Metaflow profile parameter."""

from modules.team.component import TeamArgs, TeamComponent

__all__ = ["TeamArgs", "TeamComponent"]
