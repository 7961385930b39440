"""What the Heroku release phase checks before a new release may serve traffic: a failure
here keeps the previous release running (reference/apis.md §6).

Every problem is collected and reported at once, so one failed deploy shows everything to
fix. On a dyno (DYNO set) a deployment that would run but serve nobody (links to localhost,
no API token, every alert refused, nowhere to store) is refused; elsewhere the same findings
are warnings, since `klaxon release` on a laptop is a check, not a deploy. Messages name
variables, never their values: most of them are secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.errors import ConfigError, KlaxonError, RulesError
from app.settings import Settings

# The variables that let a webhook source accept alerts (app/sources/); without any of them
# every source refuses every request.
SOURCE_SECRETS = (
    "PAGERDUTY_WEBHOOK_SECRET",
    "SENTRY_CLIENT_SECRET",
    "SENTRY_LEGACY_WEBHOOK_TOKEN",
    "OPSGENIE_WEBHOOK_TOKEN",
    "DATADOG_WEBHOOK_TOKEN",
    "ALERTMANAGER_WEBHOOK_TOKEN",
    "GRAFANA_WEBHOOK_SECRET",
)


@dataclass
class ReleaseCheck:
    passed: list[str] = field(default_factory=list)  # "rules: ok (...)"
    problems: list[str] = field(default_factory=list)  # the release must not go out
    warnings: list[str] = field(default_factory=list)

    def report(self) -> str:
        """One message listing every problem."""
        count = len(self.problems)
        return f"release refused, {count} problem{'s' if count != 1 else ''}:\n" + "\n".join(
            f"  - {problem}" for problem in self.problems
        )


def check_release(environ: Mapping[str, str] | None = None) -> ReleaseCheck:
    from app.ruleset import load_ruleset
    from app.template_check import check_templates

    env = os.environ if environ is None else environ
    check = ReleaseCheck()
    settings = _settings(env, check)
    try:
        ruleset = load_ruleset(settings.rules_dir)
    except RulesError as error:
        check.problems += error.problems
    except KlaxonError as error:
        check.problems.append(str(error))
    else:
        check.passed.append(
            f"rules: ok ({settings.rules_dir}, {len(ruleset.rules)} routes, "
            f"version {ruleset.version})"
        )
    template_problems = check_templates(settings.templates_dir)
    check.problems += template_problems
    if not template_problems:
        check.passed.append(f"templates: ok ({settings.templates_dir})")
    on_dyno = bool(env.get("DYNO"))
    findings = deployment_problems(settings)
    if on_dyno:
        check.problems += findings
    else:
        check.warnings += findings
    if on_dyno and not settings.trusted_proxies:
        # app.json sets 1, but only for apps it creates: not `heroku create`, nor older apps.
        check.warnings.append(
            "KLAXON_TRUSTED_PROXIES is 0 on Heroku: every request seems to come "
            "from the router, so ten wrong API tokens from anyone pause sign-in for "
            "everyone (heroku config:set KLAXON_TRUSTED_PROXIES=1)"
        )
    return check


def deployment_problems(settings: Settings) -> list[str]:
    """What keeps a deployment from doing its job, though every value parses."""
    env = settings.environment
    problems = []
    public_url = env.get("KLAXON_PUBLIC_URL", "")
    links = "every page link, PagerDuty client_url, X post and feed would point at"
    if not public_url:
        problems.append(
            f"KLAXON_PUBLIC_URL is not set: {links} http://localhost:8000 "
            "(heroku config:set KLAXON_PUBLIC_URL=<web_url from heroku info -s>)"
        )
    elif (parts := urlsplit(public_url)).scheme != "https" or not parts.hostname:
        shown = f"{parts.scheme}://{parts.hostname or ''}"  # never a user:password@ in it
        problems.append(f"KLAXON_PUBLIC_URL must be an https:// URL, got {shown!r}: {links} it")
    if not settings.api_token:
        problems.append(
            "KLAXON_API_TOKEN is not set: the API and the internal pages refuse everyone "
            "(heroku config:set KLAXON_API_TOKEN=$(openssl rand -hex 24))"
        )
    if not any(env.get(name, "").strip(" ,") for name in SOURCE_SECRETS):
        consequence = (
            "every alert is accepted unsigned"
            if settings.insecure_dev
            else "every alert would be refused"
        )
        problems.append(
            f"no webhook source has a secret, {consequence}: set at least one of "
            + ", ".join(SOURCE_SECRETS)
        )
    if settings.insecure_dev:
        problems.append(
            "KLAXON_INSECURE_DEV is on: sources without a secret accept unsigned requests "
            "from anyone (only `klaxon run` sets it; heroku config:unset KLAXON_INSECURE_DEV)"
        )
    if not settings.redis_url:
        problems.append(
            "REDIS_URL is not set: nothing can be stored (heroku addons:create heroku-redis:mini)"
        )
    return problems


def _settings(env: Mapping[str, str], check: ReleaseCheck) -> Settings:
    try:
        settings = Settings.from_env(env)
    except ConfigError as error:
        check.problems += error.problems
        # Each problem starts with the variable's name; the rest of the environment is still
        # worth checking, so read it without the invalid ones.
        invalid = {problem.split(" ", 1)[0] for problem in error.problems}
        return Settings.from_env({k: v for k, v in env.items() if k not in invalid})
    check.passed.append("configuration: ok")
    return settings
